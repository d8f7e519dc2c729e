"""A fast path against its oracle: the same values and the same gradients for every weight."""

import numpy as np
import tensorflow as tf


def assert_elbo_terms_match(model, fast, plain, rtol=1e-5, atol=1e-5, grad_rtol=1e-4,
                            grad_atol=1e-5):
  """`fast()` and `plain()` each return `(log_px, kl)` `[B, T]`: asserts that they agree, and
  that so do the gradients of `sum(log_px - kl)` for every trainable weight of `model` (none
  of them missing from the fast path's)."""

  def with_gradients(fn):
    with tf.GradientTape() as tape:
      log_px, kl = fn()
      total = tf.reduce_sum(log_px - kl)
    return (log_px, kl), tape.gradient(total, model.trainable_variables)

  fast_values, fast_grads = with_gradients(fast)
  plain_values, plain_grads = with_gradients(plain)
  for a, b in zip(fast_values, plain_values):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
  for v, a, b in zip(model.trainable_variables, fast_grads, plain_grads):
    assert a is not None, f'{v.path}: no gradient on the fast path'
    np.testing.assert_allclose(a, b, rtol=grad_rtol, atol=grad_atol, err_msg=v.path)
