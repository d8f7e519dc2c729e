"""Straightforward tied-parallel models (TP-LSTM-NADE, BALSTM): the reference the fast ones
must match.

It reads a model's weights but none of its code paths: every key's time-axis LSTMs step
along time one key at a time, and every frame's keys are chosen one after the other, each
LSTM step written out (`recurrences.lstm_step`, Keras's `LSTMCell` maths). The per-key inputs
come from the caller (`features`, `causal_features`: frames `[B, K]` -> `[B, K, F]`), so the
tests can build them by loops from their definition and the benchmarks can count FLOPs with
the model's own layer.
"""

import tensorflow as tf

from srnn_tf import recurrences
from srnn_tf.models.tied import BALSTM


def _lstm_steps(layer, inputs):
  """`layer` run step by step over the list `inputs` (`[B, D]` each), from zeros."""
  batch = tf.shape(inputs[0])[0]
  h = c = tf.zeros([batch, layer.units])
  outputs = []
  for x_t in inputs:
    h, c = recurrences.lstm_step(tf.matmul(x_t, layer.kernel), h, c, layer.recurrent_kernel,
                                 layer.bias)
    outputs.append(h)
  return outputs


def log_px(model, x, features, causal_features=None):
  """`log p(v_t | v_<t)` `[B, T]` of a BALSTM or TP-LSTM-NADE, key by key and step by step.

  Args:
    model: a built `BALSTM` or `TPLSTMNADE`.
    x: the piano roll `[B, T, K]` (a tensor of static shape).
    features: the time axis's per-key inputs of a frame, `[B, K]` -> `[B, K, F]`.
    causal_features: the tied NADE's inputs of the chosen keys (TP-LSTM-NADE only).
  """
  x = tf.convert_to_tensor(x, tf.float32)
  batch, steps, keys = x.shape
  u = tf.concat([tf.zeros_like(x[:, :1]), x[:, :-1]], 1)
  inputs = [features(u[:, t]) for t in range(steps)]                  # T x [B, K, F]
  o = []                                                              # K x T x [B, H]
  for n in range(keys):
    key_inputs = [inputs[t][:, n] for t in range(steps)]
    for layer in model.time_lstms:
      key_inputs = _lstm_steps(layer, key_inputs)
    o.append(key_inputs)
  rows = []
  for t in range(steps):
    if isinstance(model, BALSTM):
      key_inputs = [tf.concat([o[n][t], x[:, t, n - 1:n] if n else tf.zeros([batch, 1])], 1)
                    for n in range(keys)]
      for layer in model.key_lstms:
        key_inputs = _lstm_steps(layer, key_inputs)
      logits = [tf.matmul(h, model.key_out.kernel)[:, 0] + model.key_out.bias[0]
                for h in key_inputs]
    else:                                                             # TP-LSTM-NADE
      nade, chosen = model.nade, causal_features(x[:, t])
      logits = []
      for n in range(keys):
        context = tf.matmul(o[n][t], nade.context_weights) + nade.context_bias
        hidden = tf.sigmoid(tf.matmul(chosen[:, n], nade.input_weights) +
                            context[:, :nade.units])
        logits.append(tf.matmul(hidden, nade.output_weights)[:, 0] + context[:, nade.units])
    rows.append(tf.add_n([-tf.nn.sigmoid_cross_entropy_with_logits(labels=x[:, t, n],
                                                                    logits=logits[n])
                          for n in range(keys)]))
  return tf.stack(rows, axis=1)
