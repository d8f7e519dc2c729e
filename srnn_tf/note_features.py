"""Per-key inputs of the tied-parallel models (Johnson 2017, [1]): what one key's network
instance sees of a frame, relative to its own pitch.

For key `n` of a frame `v` (`[..., K]` of 0/1, key 0 the lowest, MIDI note 21 on a piano):

* **window** (25 values): `v[n - 12], ..., v[n + 12]`, the keys from an octave below to an
  octave above, 0 past the ends of the keyboard;
* **bins** (12 values): `bins[k]` counts the sounding keys whose pitch is `k` semitones above
  `n`'s modulo the octave (over the whole keyboard): the frame's pitch classes relative to `n`;
* **position** (1 value, optional): the key's MIDI number, standardised over the piano's
  keys, the one input that tells the instances apart.

Window and bins are the same for key `n + delta` of a frame shifted up by `delta` semitones
as for key `n` of the original (while nothing is shifted off the keyboard and the window stays
on it): with the position left out, a model that reads only these is transposition
equivariant.

The **causal** variant is what the tied NADE reads while it chooses the keys of the current
frame low to high: for key `n`, only the keys already chosen, `v[n - 12], ..., v[n - 1]` (12
values) and the bins of the keys below `n`.

Everything is computed for all keys at once, by gathers and one small contraction: no loop
over keys.

[1] D. D. Johnson. Generating Polyphonic Music Using Tied Parallel Networks. EvoMUSART 2017,
    LNCS 10198.
"""

import keras
import numpy as np
import tensorflow as tf

from srnn_tf.keyboard import LOWEST_NOTE, NUM_KEYS

OCTAVE = 12
WINDOW = 2 * OCTAVE + 1
# The piano's MIDI numbers 21..108 have mean 64.5 and standard deviation 25.4: raw MIDI
# numbers would dwarf the 0/1 and small-count inputs beside them in the first layer.
_POSITION_MEAN, _POSITION_SCALE = 64.5, 25.4


def _rotations(num_keys: int, lowest_note: int) -> np.ndarray:
  """`R[n, c, k] = 1` where pitch class `c` is `k` semitones above key `n`'s: `[K, 12, 12]`."""
  pitch_class = (np.arange(num_keys) + lowest_note) % OCTAVE
  k = np.arange(OCTAVE)
  target = (pitch_class[:, None] + k[None, :]) % OCTAVE                    # [K, 12]: c of (n, k)
  return (np.arange(OCTAVE)[None, :, None] == target[:, None, :]).astype(np.float32)


class NoteFeatures(keras.layers.Layer):
  """Frames `[..., K]` of 0/1 -> each key's inputs `[..., K, F]` (see the module docstring).

  Args:
    num_keys: K (the 88 piano keys; the tests use fewer).
    lowest_note: MIDI number of key 0 (where the pitch classes start).
    position: append the key's standardised MIDI number (F = 38, else 37).
    causal: the tied NADE's variant: the 12 keys below and the bins of the keys below only
      (F = 24; never a position).
  """

  def __init__(self, num_keys=NUM_KEYS, lowest_note=LOWEST_NOTE, position=True, causal=False,
               **kwargs):
    super().__init__(**kwargs)
    self.num_keys = num_keys
    self.lowest_note = lowest_note
    self.position = position and not causal
    self.causal = causal
    offsets = np.arange(-OCTAVE, 0) if causal else np.arange(-OCTAVE, OCTAVE + 1)
    # Indices into the frame padded by an octave of silence on each side.
    self._window_index = (np.arange(num_keys)[:, None] + offsets[None, :] + OCTAVE).astype(
        np.int32)                                                               # [K, W]
    self._rotations = _rotations(num_keys, lowest_note)                         # [K, 12, 12]
    pitch_class = (np.arange(num_keys) + lowest_note) % OCTAVE
    self._pitch_classes = np.eye(OCTAVE, dtype=np.float32)[pitch_class]         # [K, 12]
    self._positions = ((np.arange(num_keys) + lowest_note - _POSITION_MEAN) /
                       _POSITION_SCALE).astype(np.float32)                      # [K]

  @property
  def size(self) -> int:
    """F, the number of inputs per key."""
    return self._window_index.shape[1] + OCTAVE + int(self.position)

  def window(self, frames):
    """`[..., K]` -> `[..., K, W]`: each key's window of neighbouring keys."""
    padded = tf.pad(frames, [[0, 0]] * (frames.shape.rank - 1) + [[OCTAVE, OCTAVE]])
    return tf.gather(padded, self._window_index, axis=-1)

  def bins(self, frames):
    """`[..., K]` -> `[..., K, 12]`: sounding keys by pitch class relative to each key (of
    the keys below it only, if causal)."""
    by_class = frames[..., None] * self._pitch_classes                          # [..., K, 12]
    if self.causal:
      counts = tf.cumsum(by_class, axis=-2, exclusive=True)                      # keys below n
    else:
      counts = tf.broadcast_to(tf.reduce_sum(by_class, axis=-2, keepdims=True),
                               tf.shape(by_class))
    return tf.einsum('...nc,nck->...nk', counts, self._rotations)

  def call(self, frames):
    frames = tf.convert_to_tensor(frames, tf.float32)
    parts = [self.window(frames), self.bins(frames)]
    if self.position:
      parts.append(tf.broadcast_to(self._positions[:, None],
                                   tf.concat([tf.shape(frames), [1]], 0)))
    return tf.concat(parts, axis=-1)

  def get_config(self):
    return {**super().get_config(), 'num_keys': self.num_keys, 'lowest_note': self.lowest_note,
            'position': self.position, 'causal': self.causal}


def future_pitch_classes(x, mask, frames: int, lowest_note: int = LOWEST_NOTE):
  """For each frame, how often each pitch class sounds in the next `frames` frames: the
  auxiliary cost's target (what a frame-level latent should know of where the music goes).

  Args:
    x: frames `[B, T, K]` of 0/1, key 0 at MIDI note `lowest_note`.
    mask: `[B, T]`, 1 on real frames.
    frames: how many following frames (`t + 1 .. t + frames`) to look at.

  Returns:
    `(targets, valid)`: `targets` `[B, T, 12]`, for frame t the share of the following real
    frames (at most `frames`) in which pitch class c (C = 0) sounds; `valid` `[B, T]`, 1 where
    frame t is real and has at least one real frame after it.
  """
  x = tf.convert_to_tensor(x, tf.float32)
  classes = np.eye(OCTAVE, dtype=np.float32)[(np.arange(x.shape[-1]) + lowest_note) % OCTAVE]
  sounding = tf.cast(tf.einsum('btk,kc->btc', x, classes) > 0, tf.float32) * mask[..., None]
  # Each window's sums (frames t + 1 .. t + frames, cut at T) as differences of cumulative
  # sums that start from 0: S[end] - S[start], start = t + 1, end = min(t + 1 + frames, T).
  steps = tf.shape(x)[1]
  cum_sounding = tf.pad(tf.cumsum(sounding, axis=1), [[0, 0], [1, 0], [0, 0]])   # [B, T+1, 12]
  cum_mask = tf.pad(tf.cumsum(mask, axis=1), [[0, 0], [1, 0]])                   # [B, T+1]
  start = tf.range(steps) + 1
  end = tf.minimum(start + frames, steps)
  count = tf.gather(cum_mask, end, axis=1) - tf.gather(cum_mask, start, axis=1)
  present = (tf.gather(cum_sounding, end, axis=1) - tf.gather(cum_sounding, start, axis=1))
  valid = tf.cast(count > 0, tf.float32) * mask
  return tf.math.divide_no_nan(present, count[..., None]), valid

