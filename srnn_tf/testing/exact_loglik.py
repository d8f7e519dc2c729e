"""Exact log p(x) of an SRNN with a one-dimensional z, by numerical integration.

Given x, d_{1:T} is deterministic, so z_{1:T} is a Markov chain and p(x) is a forward
recursion on a grid of z values:
    alpha_1(z)  = p(z | z_0 = 0, d_1) p(x_1 | z, d_1)
    alpha_t(z)  = p(x_t | z, d_t) * integral p(z | z', d_t) alpha_{t-1}(z') dz'
    p(x)        = integral alpha_T(z) dz
computed in log space with the trapezoid-free Riemann sum (the grid is fine and wide enough
that the integrands vanish at its ends).
"""

import numpy as np
import tensorflow as tf

from srnn_tf import layers


def markov_log_px(steps, emission, prior, grid):
  """`log p(x)` of one sequence whose z chain is Markov given x, by the forward recursion on
  `grid` (a one-dimensional z):
      alpha_1(z)  = p(z_1 = z | z_0 = 0) p(x_1 | z)
      alpha_t(z)  = p(x_t | z) * integral p(z_t = z | z') alpha_{t-1}(z') dz'
      p(x)        = integral alpha_T(z) dz

  Args:
    steps: T, the sequence's frames.
    emission: `emission(t, z_col)`: `log p(x_t | z_t = z)` `[n]` for the grid's points
      `z_col` `[n, 1]`.
    prior: `prior(t, z_prev_col)`: the mean and log-variance `[n]` of `p(z_t | z_{t-1})` for
      each `z_{t-1}` of `z_prev_col` `[n, 1]`.
    grid: the points, evenly spaced.
  """
  dz = grid[1] - grid[0]
  z_col = grid.astype(np.float32)[:, None]
  log_alpha = None
  for t in range(steps):
    if t == 0:
      mean, log_var = (v[0] for v in prior(0, z_col[:1] * 0))
      log_alpha = _log_normal(grid, mean, log_var) + emission(0, z_col)
    else:
      mean, log_var = prior(t, z_col)
      # trans[i, j] = log p(z_t = grid[j] | z_{t-1} = grid[i])
      trans = _log_normal(grid[None, :], mean[:, None], log_var[:, None])
      log_alpha = emission(t, z_col) + logsumexp(log_alpha[:, None] + trans, axis=0) + np.log(dz)
  return logsumexp(log_alpha) + np.log(dz)


def _column(pair):
  """A `(mean, log_var)` pair of `[n, 1]` tensors as numpy `[n]`."""
  return tuple(v.numpy()[:, 0] for v in pair)


def srnn_log_px(model, features, grid=np.linspace(-10.0, 10.0, 2001)):
  """Exact log p(x) `[B]` of an `SRNN` with `z_dim == 1`."""
  assert model.z_dim == 1
  x, mask = features['x'], features['mask']
  d = model.deterministic_states(features['u']).numpy()
  n = len(grid)
  rows = lambda v: np.repeat(v[None], n, 0)
  return np.array([markov_log_px(
      int(mask[b].sum()),
      lambda t, z: model.decoder(rows(d[b, t]), z).log_prob(rows(x[b, t])).numpy(),
      lambda t, z: _column(model.transition.prior(rows(d[b, t])[:len(z)], z)), grid)
      for b in range(mask.shape[0])])


def logsumexp(a, axis=None):
  top = np.max(a, axis=axis, keepdims=True)
  return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def _log_normal(z, mean, log_var):
  var = np.exp(np.float64(log_var)) + layers.VARIANCE_FLOOR
  return -0.5 * (np.log(2 * np.pi * var) + (z - mean) ** 2 / var)


def vrnn_log_px(model, x, grid=np.linspace(-10.0, 10.0, 401)):
  """Exact log p(x) of a `VRNN` with `z_dim == 1` on one two-frame sequence `x` `[2, 88]`.

  Here z_1 feeds h_1, so z_{1:T} is not Markov given x: the integral is over the whole chain,
      p(x) = int p(z_1|h_0) p(x_1|z_1,h_0) int p(z_2|h_1) p(x_2|z_2,h_1) dz_2 dz_1,
  with h_1 = GRU(h_0, [phi_x(x_1), phi_z(z_1)]), on an n x n grid (so two frames only).
  """
  assert model.z_dim == 1 and x.shape[0] == 2
  n, dz = len(grid), grid[1] - grid[0]
  z = tf.constant(grid, tf.float32)[:, None]                            # [n, 1]
  x1 = tf.repeat(tf.constant(x[None, 0], tf.float32), n, axis=0)        # [n, 88]
  h0 = tf.zeros((n, model.d_dim))
  inner1 = (model.prior(h0).log_prob(z) + model.decoder(z, h0).log_prob(x1)).numpy()
  h1 = model.gru_h.step(model.gru_h.project(tf.concat(
      [model.phi_x(x1), model.phi_z(z)], -1)), h0)                      # [n, H], one per z_1
  # Row i * n + j of the pairs: z_1 = grid[i], z_2 = grid[j].
  h1_pairs, z2_pairs = tf.repeat(h1, n, axis=0), tf.tile(z, [n, 1])
  x2_pairs = tf.repeat(tf.constant(x[None, 1], tf.float32), n * n, axis=0)
  inner2 = (model.prior(h1_pairs).log_prob(z2_pairs)
            + model.decoder(z2_pairs, h1_pairs).log_prob(x2_pairs)).numpy().reshape(n, n)
  log_g = logsumexp(np.float64(inner2), axis=1) + np.log(dz)           # [n]: over z_2
  return float(logsumexp(np.float64(inner1) + log_g) + np.log(dz))


def dmm_log_px(model, features, grid=np.linspace(-10.0, 10.0, 2001)):
  """Exact log p(x) `[B]` of a `DMM` with `z_dim == 1` (plain or augmented): given x the z
  chain is Markov (the previous frames are known), with `p(z_t | z_{t-1}[, u_t])` and
  `p(x_t | z_t[, u_t])`."""
  assert model.z_dim == 1
  x, u, mask = features['x'], features['u'], features['mask']
  rows = lambda v, n: np.repeat(v[None], n, 0)
  return np.array([markov_log_px(
      int(mask[b].sum()),
      lambda t, z: model.decoder(z, rows(u[b, t], len(z))).log_prob(
          rows(x[b, t], len(z))).numpy(),
      lambda t, z: _column(model.prior(z, rows(u[b, t], len(z)))), grid)
      for b in range(mask.shape[0])])


def storn_log_px(model, x, u_1=None, grid=np.linspace(-8.0, 8.0, 321)):
  """Exact log p(x) of a `STORN` with `z_dim == 1` on one two-frame sequence `x` `[2, 88]`
  (`u_1`: the frame before it, silence by default).

  z_1 feeds d_1 and so every later frame: the integral is over the whole chain,
      p(x) = int N(z_1) p(x_1 | d_1) int N(z_2) p(x_2 | d_2) dz_2 dz_1,
  with d_t = GRU_d(d_{t-1}, [e(x_{t-1}), z_t]), on an n x n grid (so two frames only).
  """
  assert model.z_dim == 1 and x.shape[0] == 2
  n, dz = len(grid), grid[1] - grid[0]
  z = tf.constant(grid, tf.float32)[:, None]                            # [n, 1]
  u_1 = np.zeros(88, np.float32) if u_1 is None else u_1
  rows = lambda frame, m: tf.repeat(tf.constant(frame[None], tf.float32), m, axis=0)
  log_normal = lambda v: -0.5 * (np.log(2 * np.pi) + np.float64(v) ** 2)
  step = lambda d, frame, z_t: model.gru_d.step(
      model.gru_d.project([model.embed(frame), z_t]), d)
  d1 = step(tf.zeros((n, model.d_dim)), rows(u_1, n), z)               # [n, D], one per z_1
  inner1 = log_normal(grid) + model.decoder(d1).log_prob(rows(x[0], n)).numpy()
  # Row i * n + j of the pairs: z_1 = grid[i], z_2 = grid[j].
  d2 = step(tf.repeat(d1, n, axis=0), rows(x[0], n * n), tf.tile(z, [n, 1]))
  inner2 = (np.tile(log_normal(grid), n)
            + model.decoder(d2).log_prob(rows(x[1], n * n)).numpy()).reshape(n, n)
  log_g = logsumexp(np.float64(inner2), axis=1) + np.log(dz)           # [n]: over z_2
  return float(logsumexp(np.float64(inner1) + log_g) + np.log(dz))


def tied_chain_log_px(model, features, grid=np.linspace(-10.0, 10.0, 1001)):
  """Exact log p(v) `[B]` of a tied model with the SRNN's chain (`models.tied_chain`) and
  `z_dim == 1`: given the frames, `o` and `d` are fixed, so the z chain is Markov; each grid
  point's frame probability comes from the key axis on `o_t + W z`."""
  assert model.z_dim == 1
  x, mask = features['x'], features['mask']
  o, _ = model.time_axis(tf.constant(features['u']))
  d = model.frame_state(o).numpy()

  def emission(b, t, z):
    frames = np.repeat(x[b, t][None, None], len(z), 0)                    # [n, 1, K]
    logits = model.key_logits(model.with_z(tf.repeat(o[b:b + 1, t:t + 1], len(z), 0),
                                           z[:, None]), frames)
    return -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=frames, logits=logits), [1, 2]).numpy()

  return np.array([markov_log_px(
      int(mask[b].sum()), lambda t, z: emission(b, t, z),
      lambda t, z: _column(model.transition.prior(np.repeat(d[b, t][None], len(z), 0), z)),
      grid) for b in range(mask.shape[0])])
