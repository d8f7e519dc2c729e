"""A fast path against its oracle: the same values and the same gradients for every weight;
and the random piano rolls such tests feed the models."""

import numpy as np
import tensorflow as tf

from srnn_tf.features import standardize_features


def random_features(seed=0, batch=2, steps=5, keys=88, density=0.1) -> dict:
  """A feature dict (numpy) of random piano rolls `[batch, steps, keys]`, each key sounding
  with probability `density`."""
  x = (np.random.default_rng(seed).random((batch, steps, keys)) < density).astype(np.float32)
  return {k: v.numpy() for k, v in standardize_features(x).items()}


def copies(features: dict, n: int) -> dict:
  """`n` copies of every sequence, as one batch (to average an estimator over draws)."""
  return {k: np.repeat(v, n, axis=0) for k, v in features.items()}


def assert_elbo_terms_match(model, fast, plain, rtol=1e-5, atol=1e-5, grad_rtol=1e-4,
                            grad_atol=1e-5):
  """`fast()` and `plain()` each return `(log_px, kl)` `[B, T]` (or a `compute_terms` dict):
  asserts that they agree, and
  that so do the gradients of `sum(log_px - kl)` for every trainable weight of `model` (none
  of them missing from the fast path's)."""

  def with_gradients(fn):
    with tf.GradientTape() as tape:
      result = fn()
      log_px, kl = (result['log_px'], result['kl']) if isinstance(result, dict) else result
      total = tf.reduce_sum(log_px - kl)
    return (log_px, kl), tape.gradient(total, model.trainable_variables)

  fast_values, fast_grads = with_gradients(fast)
  plain_values, plain_grads = with_gradients(plain)
  for a, b in zip(fast_values, plain_values):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
  for v, a, b in zip(model.trainable_variables, fast_grads, plain_grads):
    assert a is not None, f'{v.path}: no gradient on the fast path'
    np.testing.assert_allclose(a, b, rtol=grad_rtol, atol=grad_atol, err_msg=v.path)
