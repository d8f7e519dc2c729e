"""The package's SRNN training step against the straightforward per-time-step oracle of the
tests (`tests/oracle.py`), side by side in one run, same weights and batches.

    python -m benchmarks.oracle_ratio [--config=paper] [--steps=10] [--repeats=5]

Both compute the same loss (the oracle is checked against the model to 1e-4 in the tests)
and take an Adam step with the same clipping; the oracle runs its recurrences as Python loops
inside one tf.function (a graph unrolled over the 100 frames of a window).
"""

import os
import sys
import time

import numpy as np
from absl import app
from absl import flags

from srnn_tf import configs

_CONFIG = flags.DEFINE_enum('config', 'paper', list(configs.CONFIGS), 'Size preset.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Alternating measurements of each.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Data directory.')


def main(argv):
  del argv
  import keras
  import tensorflow as tf
  sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests'))
  import oracle  # pylint: disable=import-outside-toplevel
  from srnn_tf import train_lib, training
  from srnn_tf.data import corpus as corpus_lib, pipeline
  training.set_threads(1, 2)
  config = configs.get_config(_CONFIG.value, dataset='jsb', data_version='srnn2016',
                              carry_state=False, data_dir=_DATA_DIR.value)
  corpus = corpus_lib.load_corpus('jsb', 'srnn2016', _DATA_DIR.value)
  ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len, config.batch_size)
  batches = [{k: v.numpy() for k, v in b.items()} for b in ds.take(8)]
  model = train_lib.build_model(config, steps)
  optimizer = keras.optimizers.Adam(1e-3, epsilon=1e-4)
  optimizer.build(model.trainable_variables)

  @tf.function
  def oracle_step(f):
    noise = tf.random.normal([config.batch_size, config.seq_len, config.z_dim])
    with tf.GradientTape() as tape:
      log_px, kl = oracle.srnn_terms(model, f['x'], f['u'], f['mask'], noise, xp=oracle.TF)
      loss = -tf.reduce_sum((log_px - kl) * f['mask']) / tf.reduce_sum(f['mask'])
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 1.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  frames = config.batch_size * config.seq_len
  fast = lambda i: model.train_on_batch(batches[i % len(batches)])
  slow = lambda i: oracle_step(batches[i % len(batches)])
  for fn in (fast, slow):   # warm up: tracing
    fn(0)
    fn(1)
  rates = {'fast': [], 'oracle': []}
  for r in range(_REPEATS.value):
    for name, fn in (('fast', fast), ('oracle', slow)):
      start = time.perf_counter()
      for i in range(_STEPS.value):
        fn(r * _STEPS.value + i)
      rates[name].append(_STEPS.value * frames / (time.perf_counter() - start))
  fast_rate, oracle_rate = np.median(rates['fast']), np.median(rates['oracle'])
  print(f'SRNN {_CONFIG.value}: package {fast_rate:,.0f} time steps/s, per-step oracle '
        f'{oracle_rate:,.0f} time steps/s, ratio {fast_rate / oracle_rate:.2f}x '
        f'(medians of {_REPEATS.value} alternating measurements of {_STEPS.value} steps)')


if __name__ == '__main__':
  app.run(main)
