"""A straightforward per-time-step SRNN: the reference the fast model must match.

It reads the model's weights but none of its code paths: every step applies the GRU
equations (Keras's reset-after convention), the MLPs on concatenated inputs, and the
Gaussian KL and Bernoulli log-likelihood written out by hand. The same code runs on numpy
arrays (`xp=NUMPY`, for an independent check of values) and on TF tensors (`xp=TF`, so
gradients can be compared).
"""

import types

import numpy as np
import tensorflow as tf

NUMPY = types.SimpleNamespace(
    asarray=lambda v: np.asarray(v, np.float64),
    concat=lambda xs: np.concatenate(xs, axis=-1),
    sigmoid=lambda v: 1.0 / (1.0 + np.exp(-v)),
    log_sigmoid=lambda v: -np.logaddexp(0.0, -v),
    tanh=np.tanh, exp=np.exp, log=np.log, sqrt=np.sqrt, clip=np.clip, where=np.where,
    sum=lambda v: np.sum(v, axis=-1), zeros=lambda b, n: np.zeros((b, n)))

TF = types.SimpleNamespace(
    asarray=lambda v: v.value if hasattr(v, 'value') else tf.convert_to_tensor(v),
    concat=lambda xs: tf.concat(xs, axis=-1),
    sigmoid=tf.sigmoid, log_sigmoid=tf.math.log_sigmoid,
    tanh=tf.tanh, exp=tf.exp, log=tf.math.log, sqrt=tf.sqrt, clip=tf.clip_by_value,
    where=tf.where, sum=lambda v: tf.reduce_sum(v, axis=-1),
    zeros=lambda b, n: tf.zeros((b, n)))


def _act(xp, v):
  return xp.clip(xp.where(v > 0, v, v / 3.0), -3.0, 3.0)


def _dense(xp, layer, v, act=False):
  out = v @ xp.asarray(layer.kernel) + xp.asarray(layer.bias)
  return _act(xp, out) if act else out


def _mlp(xp, mlp, v):
  for layer in mlp.hidden:
    v = _dense(xp, layer, v, act=True)
  return _dense(xp, mlp.out, v, act=mlp.output_activation) if mlp.out else v


def _gru_step(xp, gru, inputs, h):
  kernel, recurrent, bias = (xp.asarray(gru.kernel), xp.asarray(gru.recurrent_kernel),
                             xp.asarray(gru.bias))
  n = gru.units
  xin = inputs @ kernel + bias[0]
  rec = h @ recurrent + bias[1]
  update = xp.sigmoid(xin[:, :n] + rec[:, :n])
  reset = xp.sigmoid(xin[:, n:2 * n] + rec[:, n:2 * n])
  candidate = xp.tanh(xin[:, 2 * n:] + reset * rec[:, 2 * n:])
  return update * h + (1.0 - update) * candidate


def _gaussian(xp, net, context, z_prev):
  joint = xp.concat([context, z_prev])
  mean = _dense(xp, net.mean_out, _dense(xp, net.mean_hidden, joint, act=True))
  log_var = _dense(xp, net.log_var_out, _dense(xp, net.log_var_hidden, joint, act=True))
  return mean, xp.exp(log_var) + 1e-6


def _frame_log_prob(xp, model, params, x):
  """`log p(x_t | .)` `[B]` of a frame `x` `[B, 88]` given the emission's parameters: the
  88 keys independent, or a NADE evaluated one key at a time (lowest first)."""
  if model.frame.kind == 'bernoulli':
    return xp.sum(x * xp.log_sigmoid(params) + (1.0 - x) * xp.log_sigmoid(-params))
  w, v = xp.asarray(model.frame.input_weights), xp.asarray(model.frame.output_weights)
  a, total = params[:, 88:], 0.0            # the hidden biases c, then a_d = c + W x_<d
  for d in range(88):
    logit = params[:, d] + xp.sum(xp.sigmoid(a) * v[d])
    total = total + x[:, d] * xp.log_sigmoid(logit) + (1.0 - x[:, d]) * xp.log_sigmoid(-logit)
    a = a + x[:, d:d + 1] * w[:, d]
  return total


def srnn_terms(model, x, u, mask, noise, xp=NUMPY):
  """Per-frame `log p(x_t | z_t, d_t)` and `KL(q || p)` `[B, T]` for one noise draw.

  Args:
    model: an `SRNN` (only its weights and options are used).
    x, u: `[B, T, 88]`; mask `[B, T]`; noise `[B, T, Z]` (standard normal).
  """
  x, u, mask, noise = (xp.asarray(v) for v in (x, u, mask, noise))
  batch, steps = x.shape[0], x.shape[1]
  embed = lambda v: _mlp(xp, model.embed, v)

  d, ds = xp.zeros(batch, model.d_dim), []
  for t in range(steps):
    d = _gru_step(xp, model.gru_d, embed(u[:, t]), d)
    ds.append(d)

  a_list = [None] * steps
  a = xp.zeros(batch, model.a_dim)
  for t in reversed(range(steps)):
    inputs = xp.concat([ds[t], embed(x[:, t])])
    if model.inference == 'smoothing':
      m = mask[:, t][:, None]
      a = m * _gru_step(xp, model.gru_a, inputs, a) + (1.0 - m) * a
    else:
      a = _mlp(xp, model.mlp_a, inputs)
    a_list[t] = a

  z = xp.zeros(batch, model.z_dim)
  log_px, kl = [], []
  for t in range(steps):
    mean_p, var_p = _gaussian(xp, model.transition.prior_net, ds[t], z)
    mean_q, var_q = _gaussian(xp, model.transition.posterior_net, a_list[t], z)
    if model.resq:
      mean_q = mean_q + mean_p
    z = mean_q + xp.sqrt(var_q) * noise[:, t]
    kl.append(0.5 * xp.sum(xp.log(var_p) - xp.log(var_q)
                           + (var_q + (mean_q - mean_p) ** 2) / var_p - 1.0))
    log_px.append(_frame_log_prob(xp, model, _mlp(xp, model.emission, xp.concat([ds[t], z])),
                                  x[:, t]))
  stack = (lambda vs: np.stack(vs, 1)) if xp is NUMPY else (lambda vs: tf.stack(vs, 1))
  return stack(log_px), stack(kl)


def vrnn_terms(model, x, mask, noise, xp=NUMPY):
  """Per-frame `log p(x_t | z_t, h_{t-1})` and `KL(q || p)` `[B, T]` of a `VRNN`."""
  del mask  # padding sits at the end: it cannot change earlier frames
  x, noise = xp.asarray(x), xp.asarray(noise)
  batch, steps = x.shape[0], x.shape[1]
  h = xp.zeros(batch, model.d_dim)
  log_px, kl = [], []
  for t in range(steps):
    phi_x = _mlp(xp, model.phi_x, x[:, t])
    mean_p, var_p = _gaussian(xp, model.prior_net, h[:, :0], h)
    mean_q, var_q = _gaussian(xp, model.posterior_net, phi_x, h)
    z = mean_q + xp.sqrt(var_q) * noise[:, t]
    kl.append(0.5 * xp.sum(xp.log(var_p) - xp.log(var_q)
                           + (var_q + (mean_q - mean_p) ** 2) / var_p - 1.0))
    phi_z = _mlp(xp, model.phi_z, z)
    log_px.append(_frame_log_prob(xp, model, _mlp(xp, model.emission, xp.concat([phi_z, h])),
                                  x[:, t]))
    h = _gru_step(xp, model.gru_h, xp.concat([phi_x, phi_z]), h)
  stack = (lambda vs: np.stack(vs, 1)) if xp is NUMPY else (lambda vs: tf.stack(vs, 1))
  return stack(log_px), stack(kl)


def rnn_log_px(model, x, u, xp=NUMPY):
  """Exact per-frame `log p(x_t | d_t)` `[B, T]` of an `RNN`."""
  x, u = xp.asarray(x), xp.asarray(u)
  d, out = xp.zeros(x.shape[0], model.d_dim), []
  for t in range(x.shape[1]):
    d = _gru_step(xp, model.gru_d, _mlp(xp, model.embed, u[:, t]), d)
    out.append(_frame_log_prob(xp, model, _mlp(xp, model.emission, d), x[:, t]))
  return np.stack(out, 1) if xp is NUMPY else tf.stack(out, 1)
