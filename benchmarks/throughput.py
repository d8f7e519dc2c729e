"""Training throughput (time steps per second) of a model configuration.

    python -m benchmarks.throughput --model=srnn --config=paper [--steps=30] [--repeats=5]

Times `train_step` on real JSB (srnn2016) batches after a warm-up, and prints the median of
`--repeats` measurements of `--steps` steps each, as time steps (batch x frames) per second.
"""

import time

import numpy as np
from absl import app
from absl import flags

from srnn_tf import configs

_MODEL = flags.DEFINE_enum('model', 'srnn', ['rnn', 'vrnn', 'srnn'], 'Model.')
_CONFIG = flags.DEFINE_enum('config', 'paper', list(configs.CONFIGS), 'Size preset.')
_STEPS = flags.DEFINE_integer('steps', 30, 'Steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Measurements; the median is reported.')
_INTRA = flags.DEFINE_integer('intra_op_threads', 1, 'TF intra-op threads (0: default).')
_INTER = flags.DEFINE_integer('inter_op_threads', 2, 'TF inter-op threads (0: default).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Data directory.')


def measure(model, batches, steps, repeats):
  """Median time steps per second of `model.train_on_batch` over `batches` (a cycle)."""
  frames = int(np.prod(batches[0]['mask'].shape))
  for b in batches[:3]:
    model.train_on_batch(b)   # warm-up: tracing and first-call allocations
  rates = []
  for r in range(repeats):
    start = time.perf_counter()
    for i in range(steps):
      model.train_on_batch(batches[(r * steps + i) % len(batches)])
    rates.append(steps * frames / (time.perf_counter() - start))
  return float(np.median(rates)), rates


def main(argv):
  del argv
  from srnn_tf import train_lib, training
  from srnn_tf.data import corpus as corpus_lib, pipeline
  training.set_threads(_INTRA.value, _INTER.value)
  config = configs.get_config(_CONFIG.value, model=_MODEL.value, dataset='jsb',
                              data_version='srnn2016', data_dir=_DATA_DIR.value)
  corpus = corpus_lib.load_corpus('jsb', 'srnn2016', _DATA_DIR.value)
  ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len, config.batch_size)
  batches = [{k: v.numpy() for k, v in b.items()} for b in ds.take(steps)]
  model = train_lib.build_model(config, steps)
  rate, rates = measure(model, batches, _STEPS.value, _REPEATS.value)
  print(f'{_MODEL.value} {_CONFIG.value}: {rate:,.0f} time steps/s (median of '
        f'{", ".join(f"{r:,.0f}" for r in rates)}); threads intra {_INTRA.value} / '
        f'inter {_INTER.value}')


if __name__ == '__main__':
  app.run(main)
