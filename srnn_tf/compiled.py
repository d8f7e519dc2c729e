"""`function`: `tf.function` without AutoGraph, for this package's own compiled functions.

The models write their control flow in TensorFlow ops (`tf.scan`, `tf.while_loop`,
`tf.cond`), so AutoGraph has nothing to convert in them; it still inspects and converts every
function a trace reaches (the models', Keras's layers, TFP's distributions), and that took
three to four times as long as building the graph itself: the serving `score` of a tiny NADE
SRNN traced in 11 s with it and 2.5 s without, into the same 1,061 nodes. Keras compiles its
own train, test and predict steps without it too (`tf.autograph.experimental.do_not_convert`).
A Python `if` or `for` on a tensor in a traced function is an error here, not a silent
conversion: write it as `tf.cond` or `tf.while_loop`.
"""

import functools
import weakref

import tensorflow as tf

function = functools.partial(tf.function, autograph=False)


_PER_OBJECT = weakref.WeakKeyDictionary()


def per_object(owner, key, fn, **kwargs):
  """`function(lambda *args: fn(owner, *args), **kwargs)`, built once per `(owner, key)`.

  For a model's methods called eagerly: eager, their loops run op by op (a tiny SRNN's SMC
  over 200 x 60 frames: 14 s, against 2.8 s traced and 0.6 s once traced). Cached weakly and
  outside `owner`, so that it neither keeps the model alive nor becomes part of what the model
  saves (Keras tracks a model's attributes).
  """
  table = _PER_OBJECT.setdefault(owner, {})
  if key not in table:
    ref = weakref.ref(owner)
    table[key] = function(lambda *args: fn(ref(), *args), **kwargs)
  return table[key]
