"""Transposition of piano rolls: a whole piece shifted by a number of semitones (for evaluation
on another key, as Johnson 2017's Table 2), and random shifts of training windows (data
augmentation). Keys shifted past either end of the keyboard are dropped."""

import numpy as np
import tensorflow as tf


def transpose(roll: np.ndarray, semitones: int) -> tuple[np.ndarray, int]:
  """`roll` `[..., K]` shifted up by `semitones` (down if negative), and the number of sounding
  keys (notes times frames) that fell off the keyboard."""
  roll = np.asarray(roll)
  keys = roll.shape[-1]
  shifted = np.zeros_like(roll)
  if abs(semitones) >= keys:
    return shifted, int(roll.sum())
  if semitones >= 0:
    shifted[..., semitones:] = roll[..., :keys - semitones]
    dropped = roll[..., keys - semitones:].sum()
  else:
    shifted[..., :semitones] = roll[..., -semitones:]
    dropped = roll[..., :-semitones].sum()
  return shifted, int(dropped)


def shift_keys(frames, semitones):
  """`frames` `[B, ..., K]` with row `b` shifted by `semitones[b]` (int32 `[B]`), keys past
  the ends dropped: a gather along the keys, no loop."""
  keys = frames.shape[-1]
  source = tf.range(keys)[None, :] - semitones[:, None]                       # [B, K]
  inside = tf.cast((source >= 0) & (source < keys), frames.dtype)
  shape = tf.concat([tf.shape(semitones), tf.ones([frames.shape.rank - 2], tf.int32), [keys]], 0)
  gathered = tf.gather(frames, tf.clip_by_value(source, 0, keys - 1),
                       axis=frames.shape.rank - 1, batch_dims=1)
  return gathered * tf.reshape(inside, shape)


def augment(dataset: tf.data.Dataset, max_semitones: int, seed: int,
            first_batch: int = 0) -> tf.data.Dataset:
  """Training batches with each window (row) shifted by its own `delta`, uniform in
  `[-max_semitones, max_semitones]`, the same for its every frame (`x` and `u` alike).

  The shifts are drawn statelessly from `(seed, batch number)`, counting from `first_batch`
  (a resumed run's first batch), so a resumed run draws what an uninterrupted one would.
  """
  def shift(index, batch):
    rows = tf.shape(batch['x'])[0]
    delta = tf.random.stateless_uniform(
        [rows], seed=tf.stack([tf.cast(seed, tf.int64), index + first_batch]),
        minval=-max_semitones, maxval=max_semitones + 1, dtype=tf.int32)
    return {**batch, 'x': shift_keys(batch['x'], delta), 'u': shift_keys(batch['u'], delta)}

  return dataset.enumerate().map(shift, num_parallel_calls=tf.data.AUTOTUNE)
