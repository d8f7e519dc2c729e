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

from srnn_tf import layers


def srnn_log_px(model, features, grid=np.linspace(-10.0, 10.0, 2001)):
  """Exact log p(x) `[B]` of an `SRNN` with `z_dim == 1`."""
  assert model.z_dim == 1
  x, mask = features['x'], features['mask']
  d = model.deterministic_states(features['u']).numpy()
  batch, steps = mask.shape
  n, dz = len(grid), grid[1] - grid[0]
  z_col = grid.astype(np.float32)[:, None]
  out = np.zeros(batch)
  for b in range(batch):
    log_alpha = None
    for t in range(int(mask[b].sum())):
      d_t = np.repeat(d[b, t][None], n, 0)
      emission = model.decoder(d_t, z_col).log_prob(np.repeat(x[b, t][None], n, 0)).numpy()
      if t == 0:
        mean, log_var = (v.numpy()[0, 0] for v in model.transition.prior(d_t[:1], z_col[:1] * 0))
        log_prior = _log_normal(grid, mean, log_var)
        log_alpha = log_prior + emission
      else:
        mean, log_var = (v.numpy()[:, 0] for v in model.transition.prior(d_t, z_col))
        # trans[i, j] = log p(z_t = grid[j] | z_{t-1} = grid[i])
        trans = _log_normal(grid[None, :], mean[:, None], log_var[:, None])
        log_alpha = emission + logsumexp(log_alpha[:, None] + trans, axis=0) + np.log(dz)
    out[b] = logsumexp(log_alpha) + np.log(dz)
  return out


def logsumexp(a, axis=None):
  top = np.max(a, axis=axis, keepdims=True)
  return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def _log_normal(z, mean, log_var):
  var = np.exp(np.float64(log_var)) + layers.VARIANCE_FLOOR
  return -0.5 * (np.log(2 * np.pi * var) + (z - mean) ** 2 / var)
