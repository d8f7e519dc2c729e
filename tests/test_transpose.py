"""Transposition: whole pieces for evaluation, random shifts of training windows."""

import numpy as np
import tensorflow as tf

from srnn_tf.data import transpose


def _roll(shape, seed=0):
  return (np.random.default_rng(seed).random(shape) < 0.2).astype(np.float32)


def test_transpose_shifts_keys_and_counts_what_falls_off():
  roll = np.zeros((2, 88), np.float32)
  roll[0, [0, 40, 86, 87]] = 1
  roll[1, 85] = 1
  up, dropped = transpose.transpose(roll, 2)
  assert dropped == 2                      # keys 86 and 87 of the first frame
  np.testing.assert_array_equal(np.nonzero(up[0])[0], [2, 42])
  np.testing.assert_array_equal(np.nonzero(up[1])[0], [87])
  down, dropped = transpose.transpose(roll, -1)
  assert dropped == 1 and np.nonzero(down[0])[0].tolist() == [39, 85, 86]
  same, dropped = transpose.transpose(roll, 0)
  assert dropped == 0 and np.array_equal(same, roll)


def test_shift_keys_shifts_each_row_as_transpose_does():
  x = _roll((3, 5, 88))
  delta = np.array([4, -7, 0], np.int32)
  got = transpose.shift_keys(tf.constant(x), tf.constant(delta)).numpy()
  for b in range(3):
    np.testing.assert_array_equal(got[b], transpose.transpose(x[b], int(delta[b]))[0])


def test_augment_shifts_a_whole_window_reproducibly_from_the_seed_and_batch():
  x = _roll((4, 6, 88), seed=1)
  x[..., :10] = 0
  x[..., -10:] = 0                           # nothing falls off for shifts of up to 10
  u = np.concatenate([np.zeros_like(x[:, :1]), x[:, :-1]], 1)
  batches = tf.data.Dataset.from_tensors({'x': x, 'u': u, 'mask': np.ones((4, 6))}).repeat(3)
  out = [b for b in transpose.augment(batches, 3, seed=5).as_numpy_iterator()]
  deltas = set()
  for batch in out:
    for row in range(4):
      found = [d for d in range(-3, 4) if np.array_equal(
          batch['x'][row], transpose.transpose(x[row], d)[0])]
      assert len(found) == 1                 # one shift for every frame of the window
      np.testing.assert_array_equal(batch['u'][row], transpose.transpose(u[row], found[0])[0])
      deltas.add(found[0])
  assert len(deltas) > 2                     # the shifts vary between windows
  # Resumed at batch 1, the stream continues with batch 1's shifts.
  resumed = next(transpose.augment(batches, 3, seed=5, first_batch=1).as_numpy_iterator())
  np.testing.assert_array_equal(resumed['x'], out[1]['x'])
  other = next(transpose.augment(batches, 3, seed=6).as_numpy_iterator())
  assert not np.array_equal(other['x'], out[0]['x'])
