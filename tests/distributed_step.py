"""Helper for test_distribute.py: one training step of a small SRNN under a strategy.

    python tests/distributed_step.py single|mirrored OUT [EMISSION,...]
    TF_CONFIG=... python tests/distributed_step.py multi_worker OUT

For each emission (default bernoulli), in the order given: a model from the same seeded
weights takes one step on the same global batch, and OUT-<emission>.npz gets the replica
count, the initial and updated weights and the step's loss. (Several emissions share one
process: TensorFlow takes seconds to start.)
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import tensorflow as tf  # noqa: E402

kind, out = sys.argv[1], sys.argv[2]
emissions = sys.argv[3].split(',') if len(sys.argv) > 3 else ['bernoulli']
if kind == 'mirrored':
  cpu = tf.config.list_physical_devices('CPU')[0]
  tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from srnn_tf.testing import tiny  # noqa: E402

GLOBAL_BATCH = 4


def make_model(emission):
  model = tiny.model('srnn', seed=5, kl_anneal_steps=10, emission=emission, nade_units=5)
  model.compile(optimizer=keras.optimizers.Adam(1e-2, epsilon=1e-4))
  model.build()
  return model


def batch():
  rng = np.random.default_rng(0)
  x = (rng.random((GLOBAL_BATCH, 12, 88)) < 0.2).astype(np.float32)
  mask = np.ones((GLOBAL_BATCH, 12), np.float32)
  mask[3, 8:] = 0   # ragged: replicas see different frame counts
  x *= mask[..., None]
  return {'x': x, 'mask': mask}


def one_step(model):
  # One global batch; under multi-worker each worker gets its half (DATA sharding+rebatch).
  ds = tf.data.Dataset.from_tensor_slices(batch()).batch(GLOBAL_BATCH)
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
  ds = ds.with_options(options)
  history = model.fit(ds, epochs=1, verbose=0)
  return history.history['loss'][0], [w.copy() for w in model.get_weights()]


strategy = {'single': tf.distribute.get_strategy,
            'mirrored': lambda: tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1']),
            'multi_worker': tf.distribute.MultiWorkerMirroredStrategy}[kind]()
for emission in emissions:
  keras.utils.set_random_seed(0)
  with strategy.scope():
    model = make_model(emission)
  initial = [w.copy() for w in model.get_weights()]
  loss, weights = one_step(model)
  np.savez(f'{out}-{emission}.npz', replicas=strategy.num_replicas_in_sync, loss=loss,
           **{f'init_{i}': w for i, w in enumerate(initial)},
           **{f'w_{i}': w for i, w in enumerate(weights)})
  print('done', emission, strategy.num_replicas_in_sync, loss)
