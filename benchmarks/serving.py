"""SavedModel size, load time and `score` latency for one 100-frame sequence, measured in a
process that imports only TensorFlow (as a serving client would).

    python -m benchmarks.serving --saved_model=runs/jsb_srnn2016_srnn_z100_d300/saved_model
"""

import os
import time

from absl import app
from absl import flags

_PATH = flags.DEFINE_string('saved_model', None, 'SavedModel directory.', required=True)
_FRAMES = flags.DEFINE_integer('frames', 100, 'Frames of the scored sequence.')
_CALLS = flags.DEFINE_integer('calls', 50, 'Timed calls after one warm-up call.')


def main(argv):
  del argv
  import numpy as np
  import tensorflow as tf
  size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(_PATH.value)
             for f in fs)
  start = time.perf_counter()
  loaded = tf.saved_model.load(_PATH.value)
  load_s = time.perf_counter() - start
  score = loaded.signatures['score']
  x = tf.constant((np.random.default_rng(0).random((1, _FRAMES.value, 88)) < 0.05)
                  .astype(np.float32))
  start = time.perf_counter()
  score(x=x)
  first_s = time.perf_counter() - start
  times = []
  for _ in range(_CALLS.value):
    start = time.perf_counter()
    score(x=x)
    times.append(time.perf_counter() - start)
  print(f'{_PATH.value}: {size / 2**20:.1f} MiB, load {load_s:.2f} s, first score call '
        f'{first_s * 1000:.0f} ms, then median {np.median(times) * 1000:.1f} ms '
        f'(p90 {np.percentile(times, 90) * 1000:.1f} ms) for one {_FRAMES.value}-frame '
        'sequence')


if __name__ == '__main__':
  app.run(main)
