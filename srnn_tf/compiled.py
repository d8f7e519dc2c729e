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

import tensorflow as tf

function = functools.partial(tf.function, autograph=False)
