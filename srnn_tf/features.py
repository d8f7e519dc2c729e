"""The feature contract every model, loss and estimator reads: a dict of

* ``x``: float32 `[B, T, 88]`, the piano roll (the target), its keys those of
  `keyboard` (`NUM_KEYS`, from `LOWEST_NOTE`);
* ``u``: float32 `[B, T, 88]`, the input: the previous frame, `u_t = x_{t-1}` on real frames
  and 0 on padding; `u_1` is 0, the frame before a carried window, or the release's own first
  input frame (the SRNN reads only `u_1` and embeds the rest as `x` shifted);
* ``mask``: float32 `[B, T]`, 1 on real frames, 0 on padding.

The tf.data pipelines (`srnn_tf.data.pipeline`) build `u` from `x` over whole sequences;
`standardize_features` completes what user code hands to `fit`/`evaluate`/`predict`.
"""

import tensorflow as tf


def standardize_features(data):
  """Accepts what `fit`/`evaluate`/`predict` hand over and returns the feature dict.

  `data` is a feature dict `{'x', 'u'?, 'mask'?}`, a piano-roll tensor `x` `[B, T, 88]`, or a
  tuple whose first element is one of these (Keras packs `(x,)` or `(x, y)`). Missing `u`
  is `x` shifted by one frame with `u_1 = 0`, zero on padding; a missing mask is all ones.
  """
  if isinstance(data, (tuple, list)):
    data = data[0]
  if not isinstance(data, dict):
    data = {'x': data}
  x = tf.convert_to_tensor(data['x'])
  x = tf.cast(x, tf.float32)
  mask = data.get('mask')
  mask = tf.ones(tf.shape(x)[:2], tf.float32) if mask is None else tf.cast(mask, tf.float32)
  u = data.get('u')
  if u is None:
    u = tf.pad(x[:, :-1], [[0, 0], [1, 0], [0, 0]]) * mask[..., None]
  return {'x': x, 'u': tf.cast(u, tf.float32), 'mask': mask}
