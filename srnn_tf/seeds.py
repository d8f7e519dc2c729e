"""Stateless random seeds: one caller's seed split into independent streams.

Every random number of generation, the particle filter and RL tuning is drawn statelessly
from a two-int seed, so that the same seed gives the same numbers. A call needs several
streams (the z noise, the emission's uniforms, each time step's particles), and callers pass
nearby seeds: a serving client `(0, i)` for its i-th request, a training or tuning step
`(s, i)` at step i, an evaluation `(s, i)` for its i-th batch. Streams taken as offsets of the
seed (`seed + [0, k]`) would then repeat between calls: seed `(s, i + 1)`'s first stream would
be seed `(s, i)`'s second. `derive` hashes instead.
"""

import tensorflow as tf


def derive(seed, index):
  """The seed of stream `index` of `seed`: int32 `[2]`, unrelated to the streams of any other
  seed (`tf.random.experimental.stateless_fold_in`, which hashes `seed`).

  Args:
    seed: two ints (a tensor, list or tuple).
    index: int or scalar int tensor (this stream's number within the call).
  """
  return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), index)
