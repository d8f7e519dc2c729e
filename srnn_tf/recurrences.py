"""The recurrent loops (GRU, LSTM, the SRNN's z chain) with hand-written backward passes.

Automatic differentiation of a loop over time stores every step's intermediate tensors on
stacks and computes each step's weight gradients inside the backward loop: many tiny
matmuls, each dominated by its fixed cost on CPU. Here the backward loops carry only the
gradient of the recurrent state, with one small matmul per step; everything else is done for
all time steps at once after (or before) the loop:

- the forward loops keep each step's recurrent product (`h_{t-1} @ W`, `z_{t-1} @ W`); the
  gates and activations are recomputed from it elementwise for all steps;
- the weight gradients are one large matmul each (`sum_t h_{t-1}^T dgates_t`);
- the input gradients are elementwise over all steps.

All tensors are time-major here (`[T, B, ...]`). `tests/test_srnn.py` checks values and
gradients against a straightforward per-step implementation differentiated by TensorFlow.
"""

import contextlib

import tensorflow as tf

_LEAK = 1.0 / 3.0
_CLIP = 3.0
VARIANCE_FLOOR = 1e-6


_matmul_dtype = tf.float32   # of the all-time-steps products; see `matmul_precision`


@contextlib.contextmanager
def matmul_precision(dtype):
  """Within the block, the products over all time steps at once (`linear` on `[..., T, I]`
  inputs, the loops' weight gradients) multiply in `dtype`; inputs, outputs and the
  per-step products inside the loops stay float32. bfloat16 runs at about twice the fp32
  matmul rate on CPUs with AVX512-BF16 (8-bit mantissas: for training steps, not for
  evaluation). Takes effect on what is traced inside the block."""
  global _matmul_dtype
  previous, _matmul_dtype = _matmul_dtype, tf.as_dtype(dtype)
  try:
    yield
  finally:
    _matmul_dtype = previous


def _matmul(a, b, **kwargs):
  if _matmul_dtype == tf.float32:
    return tf.matmul(a, b, **kwargs)
  return tf.cast(tf.matmul(tf.cast(a, _matmul_dtype), tf.cast(b, _matmul_dtype), **kwargs),
                 tf.float32)


def linear(x, kernel, bias=None):
  """`x [..., I] @ kernel [I, O] (+ bias [O])` as one 2-D matmul.

  `tf.matmul` on a `[B, T, I]` tensor becomes a broadcasting batched matmul, several times
  slower on CPU (oneDNN) than the same product on `[B * T, I]`.
  """
  if x.shape.rank == 2:   # one step of a loop, or already flattened: float32
    y = tf.matmul(x, kernel)
  else:
    y = tf.reshape(_matmul(tf.reshape(x, [-1, x.shape[-1]]), kernel),
                   tf.concat([tf.shape(x)[:-1], tf.shape(kernel)[-1:]], 0))
  return y if bias is None else y + bias


def multi_head(hidden, kernels, biases):
  """Per-head output layers: `hidden` `[..., K * H]` split into K heads, head `k` times
  `kernels[k]` `[H, Z]` plus `biases[k]`. Returns a list of K `[..., Z]` tensors."""
  parts = tf.split(hidden, len(kernels), axis=-1)
  return [linear(h, k, b) for h, k, b in zip(parts, kernels, biases)]


def _weight_grad(inputs, grads):
  """`sum over all leading axes of inputs^T @ grads`: `[..., I]`, `[..., O]` -> `[I, O]`."""
  return _matmul(tf.reshape(inputs, [-1, inputs.shape[-1]]),
                 tf.reshape(grads, [-1, grads.shape[-1]]), transpose_a=True)


def _shift(states, first, reverse):
  """The state before each step: `first` then `states[:-1]` (the mirror image if reverse)."""
  if reverse:
    return tf.concat([states[1:], first[None]], 0)
  return tf.concat([first[None], states[:-1]], 0)


# -- GRU ---------------------------------------------------------------------------------------

def _gru_gates(projected, recurrent):
  """Update gate, reset gate, candidate and the candidate's recurrent part, all `[..., H]`."""
  p_gates, p_candidate = tf.split(projected, [-1, recurrent.shape[-1] // 3], axis=-1)
  r_gates, r_candidate = tf.split(recurrent, [-1, recurrent.shape[-1] // 3], axis=-1)
  update, reset = tf.split(tf.sigmoid(p_gates + r_gates), 2, axis=-1)
  candidate = tf.tanh(p_candidate + reset * r_candidate)
  return update, reset, candidate, r_candidate


def gru_step(projected_t, h_prev, kernel, bias):
  """One GRU update (Keras `GRUCell(reset_after=True)` maths).

  Args:
    projected_t: the input part of the gates `x_t @ W + b_in`, `[..., 3H]` (update, reset,
      candidate).
    h_prev: `[..., H]`.
    kernel, bias: the recurrent kernel `[H, 3H]` and bias `[3H]`.
  """
  return _gru_update(projected_t, h_prev, linear(h_prev, kernel, bias))


def _gru_update(projected_t, h_prev, recurrent_t):
  update, _, candidate, _ = _gru_gates(projected_t, recurrent_t)
  return candidate + update * (h_prev - candidate)


def gru(projected, h_0, kernel, bias, keep, reverse=False):
  """Runs a GRU over time.

  Args:
    projected: input part of the gates for every step, `[T, B, 3H]`.
    h_0: the initial state `[B, H]`.
    kernel, bias: recurrent kernel `[H, 3H]` and bias `[3H]`.
    keep: `[T, B, 1]`, 1 where the step updates the state, 0 where it holds it (padding).
    reverse: run from the last step to the first.

  Returns:
    States `[T, B, H]`, differentiable in all arguments but `keep`.
  """

  @tf.custom_gradient
  def run(projected, h_0, kernel, bias):
    def step(carry, elems):
      h_prev = carry[0]
      p_t, keep_t = elems
      recurrent_t = linear(h_prev, kernel, bias)
      return h_prev + keep_t * (_gru_update(p_t, h_prev, recurrent_t) - h_prev), recurrent_t

    # The loop also keeps each step's `h_{t-1} @ kernel + bias` for the backward pass, which
    # would otherwise recompute it as a [T * B, H] x [H, 3H] product.
    zeros = tf.zeros(tf.stack([tf.shape(h_0)[0], tf.shape(kernel)[1]]), h_0.dtype)
    states, recurrent = tf.scan(step, (projected, keep), (h_0, zeros), reverse=reverse)

    def grad(d_states):
      h_prev = _shift(states, h_0, reverse)
      update, reset, candidate, r_candidate = _gru_gates(projected, recurrent)
      # d h_t = dh (1 - u) d c + dh (h_prev - c) d u + u d h_prev; per block of the gates'
      # pre-activations, the factor that multiplies d h_t:
      d_candidate = (1.0 - update) * (1.0 - tf.square(candidate))
      coef_update = (h_prev - candidate) * update * (1.0 - update)
      coef_reset = d_candidate * r_candidate * reset * (1.0 - reset)
      coef_recurrent = tf.concat([coef_update, coef_reset, d_candidate * reset], -1)

      def back(carry, elems):
        dh_next = carry[0]            # from the step that read this state
        d_up, keep_t, coef_t, update_t = elems
        dh = d_up + dh_next
        dh_step = keep_t * dh
        d_rec = tf.tile(dh_step, [1, 3]) * coef_t
        dh_prev = dh - dh_step + dh_step * update_t + tf.matmul(d_rec, kernel, transpose_b=True)
        return dh_prev, dh_step

      zeros = tf.zeros_like(h_0)
      dh_prev, dh_step = tf.scan(back, (d_states, keep, coef_recurrent, update),
                                   (zeros, zeros), reverse=not reverse)
      d_recurrent = tf.tile(dh_step, [1, 1, 3]) * coef_recurrent
      d_projected = tf.concat([d_recurrent[..., :-dh_step.shape[-1]], dh_step * d_candidate], -1)
      # `dh_prev[t]` is the gradient of the state step t read; the scan keeps time order,
      # so h_0 was read by step 0 going forward and by step T-1 going backward.
      d_h0 = dh_prev[0] if not reverse else dh_prev[-1]
      return (d_projected, d_h0, _weight_grad(h_prev, d_recurrent),
              tf.reduce_sum(d_recurrent, [0, 1]))

    return states, grad

  # Tensors, not variables, go in: a custom gradient must not read variables itself.
  return run(*map(tf.convert_to_tensor, (projected, h_0, kernel, bias)))


# -- LSTM --------------------------------------------------------------------------------------

def _lstm_gates(pre):
  """Input, forget, candidate and output gates from the pre-activations `[..., 4H]` (Keras's
  `LSTMCell` order and activations)."""
  i, f, g, o = tf.split(pre, 4, axis=-1)
  return tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)


def _lstm_update(pre, c_prev):
  i, f, g, o = _lstm_gates(pre)
  c = f * c_prev + i * g
  return o * tf.tanh(c), c


def lstm_step(projected_t, h_prev, c_prev, kernel, bias):
  """One LSTM update (Keras `LSTMCell` maths): `(h_t, c_t)` from the input part of the gates
  `x_t @ W` `[..., 4H]`, the state `h_prev`, `c_prev` `[..., H]`, the recurrent kernel
  `[H, 4H]` and the bias `[4H]`."""
  return _lstm_update(projected_t + linear(h_prev, kernel, bias), c_prev)


def lstm(projected, h_0, c_0, kernel, bias, keep):
  """Runs an LSTM over the leading axis (time, or the keys of a frame).

  Args:
    projected: input part of the gates for every step, `[T, B, 4H]` (input, forget,
      candidate, output).
    h_0, c_0: the initial state `[B, H]`.
    kernel, bias: recurrent kernel `[H, 4H]` and bias `[4H]`.
    keep: `[T, B, 1]`, 1 where the step updates the state, 0 where it holds it (padding).

  Returns:
    `(h, c)`, each `[T, B, H]`, differentiable in all arguments but `keep`.
  """

  @tf.custom_gradient
  def run(projected, h_0, c_0, kernel, bias):
    def step(carry, elems):
      h_prev, c_prev = carry[0], carry[1]
      p_t, keep_t = elems
      recurrent_t = linear(h_prev, kernel, bias)
      h, c = _lstm_update(p_t + recurrent_t, c_prev)
      return h_prev + keep_t * (h - h_prev), c_prev + keep_t * (c - c_prev), recurrent_t

    # As in `gru`, the loop keeps each step's `h_{t-1} @ kernel + bias` for the backward pass.
    zeros = tf.zeros(tf.stack([tf.shape(h_0)[0], tf.shape(kernel)[1]]), h_0.dtype)
    states, cells, recurrent = tf.scan(step, (projected, keep), (h_0, c_0, zeros))

    def grad(d_states, d_cells):
      h_prev = _shift(states, h_0, reverse=False)
      c_prev = _shift(cells, c_0, reverse=False)
      i, f, g, o = _lstm_gates(projected + recurrent)
      tanh_c = tf.tanh(f * c_prev + i * g)   # of the update (= cells where keep is 1)
      # Elementwise for all steps at once, outside the loop: d c_t / d h_t, and the factors
      # that turn d c_t (the first three gates) and d h_t (the output gate) into the gates'
      # pre-activation gradients.
      dc_dh = o * (1.0 - tf.square(tanh_c))
      coef = tf.concat([g * i * (1.0 - i), c_prev * f * (1.0 - f), i * (1.0 - tf.square(g)),
                        tanh_c * o * (1.0 - o)], -1)
      d_cells = tf.zeros_like(cells) if d_cells is None else d_cells

      # A while loop rather than `tf.scan`, which would stack every step's carry: only the
      # pre-activations' gradients are kept for all steps (4-6% off the loop's time, measured at
      # the BALSTM's shapes beside two trainings).
      def back(t, dh_next, dc_next, d_pre_all):   # dh_next, dc_next: from step t + 1
        dh, dc = d_states[t] + dh_next, d_cells[t] + dc_next
        dh_step, dc_held = keep[t] * dh, (1.0 - keep[t]) * dc
        dc_step = keep[t] * dc + dh_step * dc_dh[t]           # d of the update's c_t
        # The input, forget and candidate gates' factors multiply d c_t; the output gate's, d h_t.
        d_pre = tf.concat([dc_step, dc_step, dc_step, dh_step], -1) * coef[t]
        dh_prev = dh - dh_step + tf.matmul(d_pre, kernel, transpose_b=True)
        return t - 1, dh_prev, dc_held + dc_step * f[t], d_pre_all.write(t, d_pre)

      steps = tf.shape(projected)[0]
      zeros_state = tf.zeros_like(h_0)
      _, d_h0, d_c0, d_pre = tf.while_loop(
          lambda t, *_: t >= 0, back,
          (steps - 1, zeros_state, zeros_state,
           tf.TensorArray(projected.dtype, size=steps, element_shape=projected.shape[1:])))
      d_pre = d_pre.stack()
      return (d_pre, d_h0, d_c0, _weight_grad(h_prev, d_pre), tf.reduce_sum(d_pre, [0, 1]))

    return (states, cells), grad

  return run(*map(tf.convert_to_tensor, (projected, h_0, c_0, kernel, bias)))


# -- the z chain -------------------------------------------------------------------------------

def _activation(x):
  """The paper's clipped very leaky ReLU and its derivative."""
  leaky = tf.where(x > 0.0, x, _LEAK * x)
  slope = tf.where(x > 0.0, 1.0, _LEAK) * tf.cast(tf.abs(leaky) <= _CLIP, x.dtype)
  return tf.clip_by_value(leaky, -_CLIP, _CLIP), slope


def gaussian_chain(hoisted, noise, z_0, z_kernel, out_kernels, out_biases, resq):
  """Samples the chain `z_t = mu_t + sigma_t * eps_t`, each step's Gaussian an MLP of z_{t-1}.

  Per step: `hidden = act(hoisted_t + z_{t-1} @ z_kernel)` `[B, K * H]` split into K heads;
  head k is `hidden_k @ out_kernels[k] + out_biases[k]`; head 0 is the mean, head 1 the
  log-variance, and with `resq` head 2 (the prior mean) is added to the mean.

  Args:
    hoisted: the context part of the first layers, `[T, B, K * H]` (bias included).
    noise: standard normal `eps`, `[T, B, Z]`.
    z_0: `[B, Z]`.
    z_kernel: `[Z, K * H]`.
    out_kernels, out_biases: K kernels `[H, Z]` and biases `[Z]`.
    resq: whether head 2 exists and adds to the mean.

  Returns:
    `(z, mean, log_var)`, each `[T, B, Z]`, and with `resq` head 2 (the prior mean, which the
    KL needs too) as a fourth; all differentiable in every argument.
  """
  num_heads = len(out_kernels)
  z_dim = z_0.shape[-1]

  @tf.custom_gradient
  def run(hoisted, noise, z_0, z_kernel, *out_params):
    kernels, biases = out_params[:num_heads], out_params[num_heads:]

    def step(carry, elems):
      hoisted_t, eps_t = elems
      pre = hoisted_t + tf.matmul(carry[0], z_kernel)
      hidden, _ = _activation(pre)
      heads = multi_head(hidden, kernels, biases)
      mean = heads[0] + heads[2] if resq else heads[0]
      z = mean + tf.sqrt(tf.exp(heads[1]) + VARIANCE_FLOOR) * eps_t
      return (z, mean, heads[1], pre) + ((heads[2],) if resq else ())

    zeros = tf.zeros_like(z_0)
    # `pre`, the first layers' pre-activations, is kept for the backward pass (saves
    # recomputing `z_{t-1} @ z_kernel` for all steps).
    initial = (z_0, zeros, zeros, tf.zeros_like(hoisted[0])) + ((zeros,) if resq else ())
    outputs = tf.scan(step, (hoisted, noise), initial)
    z, mean, log_var, pre = outputs[:4]

    def grad(dz_up, d_mean_up, d_log_var_up, *d_prior_mean_up):
      z_prev = _shift(z, z_0, reverse=False)
      hidden, slope = _activation(pre)
      variance = tf.exp(log_var)
      scale = tf.sqrt(variance + VARIANCE_FLOOR)
      coef_log_var = noise * variance / (2.0 * scale)          # d z / d log_var
      # [d mean, d log_var] -> d hidden in one matmul: a block matrix of the heads' kernels.
      blocks = [[kernels[0], tf.zeros_like(kernels[1])], [tf.zeros_like(kernels[0]), kernels[1]]]
      if resq:
        blocks.append([kernels[2], tf.zeros_like(kernels[2])])
      back_kernel = tf.transpose(tf.concat([tf.concat(row, 1) for row in blocks], 0))
      # The prior mean's own gradient reaches head 2's hidden units without the recurrence:
      # all steps at once, outside the loop.
      direct = ()
      if resq:
        d_hidden_2 = linear(d_prior_mean_up[0], tf.transpose(kernels[2]))
        direct = (tf.concat([tf.zeros_like(hidden[..., :-d_hidden_2.shape[-1]]), d_hidden_2],
                            -1) * slope,)

      def back(carry, elems):
        dz_next = carry[0]                     # via z_t's role as the next step's z_prev
        dz_up_t, d_mean_t, d_log_var_t, coef_t, slope_t, *direct_t = elems
        dz = dz_up_t + dz_next
        d_heads = tf.concat([d_mean_t + dz, d_log_var_t + dz * coef_t], -1)
        d_pre = tf.matmul(d_heads, back_kernel) * slope_t
        if direct_t:
          d_pre += direct_t[0]
        return tf.matmul(d_pre, z_kernel, transpose_b=True), dz, d_heads, d_pre

      zeros_heads = tf.zeros_like(tf.concat([z_0, z_0], -1))
      dz_prev, dz, d_heads, d_pre = tf.scan(
          back, (dz_up, d_mean_up, d_log_var_up, coef_log_var, slope, *direct),
          (zeros, zeros, zeros_heads, tf.zeros_like(hoisted[0])), reverse=True)
      d_mean, d_log_var = d_heads[..., :z_dim], d_heads[..., z_dim:]
      d_head = [d_mean, d_log_var] + ([d_mean + d_prior_mean_up[0]] if resq else [])
      parts = tf.split(hidden, num_heads, axis=-1)
      d_kernels = [_weight_grad(h, d) for h, d in zip(parts, d_head)]
      d_biases = [tf.reduce_sum(d, [0, 1]) for d in d_head]
      return (d_pre, dz * scale, dz_prev[0], _weight_grad(z_prev, d_pre), *d_kernels, *d_biases)

    return (z, mean, log_var) + tuple(outputs[4:]), grad

  return run(*map(tf.convert_to_tensor, (hoisted, noise, z_0, z_kernel, *out_kernels,
                                          *out_biases)))
