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


# Starts the message of every refusal of `checked_features`, so that the models' `fit`,
# `evaluate`, `predict` and `score` can find it in a graph's error and raise it as a one-line
# `ValueError` (`models.base.input_errors`).
INPUT_ERROR = 'srnn_tf input: '


def checked_features(data, num_keys: int):
  """`standardize_features(data)`, refused where it is not a batch of piano rolls.

  Shapes are checked as the graph is built (`ValueError`); values as it runs, by assertions
  (`tf.errors.InvalidArgumentError`), each message starting with `INPUT_ERROR`: `x` and `u`
  `[B, T >= 1, num_keys]` of 0/1 (NaN is neither), `mask` `[B, T]` of 0/1. Their cost is a
  few elementwise passes over the batch (measured in docs/guarantees.md, "The Python API").
  """
  if isinstance(data, (tuple, list)) and data:
    data = data[0]
  if isinstance(data, dict) and 'x' not in data:
    raise ValueError(f'{INPUT_ERROR}a feature dict needs "x" (piano rolls [batch, frames, '
                     f'{num_keys}]); its keys: {", ".join(map(str, data)) or "none"}')
  given = data if isinstance(data, dict) else {'x': data}
  shape = tf.convert_to_tensor(given['x']).shape
  if shape.rank not in (None, 3) or shape.rank and shape[-1] not in (None, num_keys):
    raise ValueError(f'{INPUT_ERROR}x has shape {tuple(shape) if shape.rank else shape}: '
                     f'must be piano rolls [batch, frames, {num_keys}]')
  if shape.rank and 0 in shape[:2]:
    raise ValueError(f'{INPUT_ERROR}x has shape {tuple(shape)}: no sequences or no frames')
  for name, expected in (('u', shape), ('mask', shape[:2] if shape.rank else shape)):
    if given.get(name) is not None:
      other = tf.convert_to_tensor(given[name]).shape
      if not other.is_compatible_with(expected):
        raise ValueError(f'{INPUT_ERROR}{name} has shape {other}: must be {expected}, as x')
  features = standardize_features(data)
  x, u, mask = features['x'], features['u'], features['mask']
  # What the graph's shapes do not already settle is checked when it runs (Keras's own arrays
  # adapter leaves them open); every op reading the features waits for the checks, so that a
  # bad batch is refused before it reaches a matmul's shape error.
  problems = [(_binary(mask), 'mask holds values other than 0 and 1'),
              (_binary(x), 'x holds values other than 0 and 1')]
  if x.shape.rank is None:
    problems.append((tf.rank(x) == 3, 'x is not piano rolls [batch, frames, keys]'))
  if x.shape.rank is None or x.shape[-1] is None:
    problems.append((tf.shape(x)[-1] == num_keys, f'x does not have {num_keys} keys per frame'))
  if x.shape.rank is None or x.shape[1] is None:
    problems.append((tf.shape(x)[1] > 0, 'x has no frames'))
  # A mask or u the caller did not give is made from x, of its shape (and u of its values).
  if given.get('mask') is not None and not (x.shape.is_fully_defined()
                                            and mask.shape == x.shape[:2]):
    problems.append((_same(tf.shape(mask), tf.shape(x)[:2]), 'mask is not [batch, frames] of x'))
  if given.get('u') is not None:
    problems.append((_binary(u), 'u holds values other than 0 and 1'))
    if not (x.shape.is_fully_defined() and u.shape == x.shape):
      problems.append((_same(tf.shape(u), tf.shape(x)), 'u and x differ in shape'))
  checks = [tf.debugging.Assert(holds, [INPUT_ERROR + problem]) for holds, problem in problems]
  with tf.control_dependencies(checks):
    return {name: tf.identity(value) for name, value in features.items()}


def _same(shape, other):
  """Whether two shapes (int vectors, perhaps of different lengths) are equal."""
  if shape.shape.is_fully_defined() and other.shape.is_fully_defined():   # ranks known
    if shape.shape != other.shape:
      return tf.constant(False)
    return tf.reduce_all(tf.equal(shape, other))
  return tf.cond(tf.size(shape) == tf.size(other),
                 lambda: tf.reduce_all(tf.equal(shape, other)), lambda: False)


def _binary(values):
  """Whether every value is 0 or 1 (NaN is neither)."""
  return tf.reduce_all((values == 0.0) | (values == 1.0))
