"""The particle filter called from Python: run op by op, against compiled (its first call,
with the trace, and a later one).

    python -m benchmarks.eager

A tiny SRNN (the test suite's bounds model), 200 copies of a 60-frame piece, SMC with K = 20:
`smc.particle_log_likelihood` called eagerly compiles itself (`compiled.per_object`); with
`tf.config.run_functions_eagerly(True)` the same call runs op by op, as it did before. CPU
seconds of each call (process time), and the largest difference of the estimates.
"""

import time

import numpy as np

from srnn_tf import cli


def main(argv):
  del argv
  import tensorflow as tf
  from srnn_tf import smc
  from srnn_tf.features import standardize_features
  from srnn_tf.models import SRNN
  model = SRNN(z_dim=1, d_dim=4, a_dim=4, hidden_units=8, embed_units=(8,), seed=1,
               gru_init='orthogonal')
  model.build()
  x = (np.random.default_rng(5).random((1, 60, 88)) < 0.08).astype(np.float32)
  features = {k: np.repeat(v.numpy(), 200, axis=0)
              for k, v in standardize_features(x).items()}

  def timed(label):
    start = time.process_time()
    out = smc.particle_log_likelihood(model, features, 20, resample=True, seed=(4, 0)).numpy()
    print(f'{label}: {time.process_time() - start:.1f} CPU-s')
    return out

  tf.config.run_functions_eagerly(True)
  eager = timed('op by op')
  tf.config.run_functions_eagerly(False)
  first = timed('compiled, first call (with its trace)')
  timed('compiled, a later call')
  print(f'largest difference: {np.abs(eager - first).max():.2g} nats '
        f'(estimates about {first.mean():.0f})')


if __name__ == '__main__':
  cli.run(main)
