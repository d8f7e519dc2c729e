"""The hand-written backward passes of `recurrences.py` against autodiff of plain loops.

The model-level oracle tests (test_srnn.py) start every chain from zeros and without a
gradient to the initial state; a learned, primed or carried initial state needs
d loss / d h_0 too, for the GRU in both directions and for the z chain.
"""

import numpy as np
import pytest
import tensorflow as tf

from srnn_tf import recurrences

T, B, H, Z, HID = 6, 3, 5, 4, 7


def _rng_tensors(seed, *shapes, scale=0.5):
  rng = np.random.default_rng(seed)
  return [tf.constant(rng.normal(0, scale, s).astype(np.float32)) for s in shapes]


def _keep():
  keep = np.ones((T, B, 1), np.float32)
  keep[T - 2:, 1] = 0.0      # padding at the end of row 1, as the eval batches have it
  keep[T - 1:, 2] = 0.0
  return tf.constant(keep)


def _gru_loop(projected, h_0, kernel, bias, keep, reverse):
  """The GRU one step at a time, differentiated by TensorFlow."""
  h, states = h_0, [None] * T
  for t in (reversed(range(T)) if reverse else range(T)):
    h = h + keep[t] * (recurrences.gru_step(projected[t], h, kernel, bias) - h)
    states[t] = h
  return tf.stack(states)


@pytest.mark.parametrize('reverse', [False, True])
def test_gru_gradients_match_autodiff_including_the_initial_state(reverse):
  projected, h_0, kernel, bias = _rng_tensors(0, (T, B, 3 * H), (B, H), (H, 3 * H), (3 * H,))
  keep = _keep()
  (weights,) = _rng_tensors(1, (T, B, H), scale=1.0)   # a loss that weighs every state
  args = [projected, h_0, kernel, bias]
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(args)
    fast = recurrences.gru(*args, keep, reverse=reverse)
    slow = _gru_loop(*args, keep, reverse)
    fast_loss, slow_loss = tf.reduce_sum(weights * fast), tf.reduce_sum(weights * slow)
  np.testing.assert_allclose(fast.numpy(), slow.numpy(), atol=1e-6)
  names = ['projected', 'h_0', 'kernel', 'bias']
  for name, g_fast, g_slow in zip(names, tape.gradient(fast_loss, args),
                                  tape.gradient(slow_loss, args)):
    assert np.any(g_slow.numpy() != 0), name
    np.testing.assert_allclose(g_fast.numpy(), g_slow.numpy(), atol=1e-5, rtol=1e-4,
                               err_msg=name)


def _chain_loop(hoisted, noise, z_0, z_kernel, kernels, biases, resq):
  """The z chain one step at a time, differentiated by TensorFlow."""
  z, zs, means, log_vars, prior_means = z_0, [], [], [], []
  for t in range(T):
    pre = hoisted[t] + z @ z_kernel
    hidden = tf.clip_by_value(tf.where(pre > 0, pre, pre / 3.0), -3.0, 3.0)
    heads = [h @ k + b for h, k, b in zip(tf.split(hidden, len(kernels), -1), kernels, biases)]
    mean = heads[0] + heads[2] if resq else heads[0]
    z = mean + tf.sqrt(tf.exp(heads[1]) + recurrences.VARIANCE_FLOOR) * noise[t]
    zs.append(z), means.append(mean), log_vars.append(heads[1]), prior_means.append(heads[-1])
  return tuple(map(tf.stack, (zs, means, log_vars) + ((prior_means,) if resq else ())))


@pytest.mark.parametrize('resq', [False, True])
def test_z_chain_gradients_match_autodiff_including_the_initial_state(resq):
  heads = 3 if resq else 2
  hoisted, noise, z_0, z_kernel = _rng_tensors(
      2, (T, B, heads * HID), (T, B, Z), (B, Z), (Z, heads * HID), scale=1.0)
  kernels = _rng_tensors(3, *[(HID, Z)] * heads)
  biases = _rng_tensors(4, *[(Z,)] * heads, scale=0.3)
  weights = _rng_tensors(5, *[(T, B, Z)] * 4, scale=1.0)
  args = [hoisted, noise, z_0, z_kernel, *kernels, *biases]

  def loss(outputs):   # every output carries gradient: z, the mean, the log-variance and,
    # with Resq, the prior mean
    assert len(outputs) == (4 if resq else 3)
    return sum(tf.reduce_sum(w * v) for w, v in zip(weights, outputs))

  with tf.GradientTape(persistent=True) as tape:
    tape.watch(args)
    fast = recurrences.gaussian_chain(hoisted, noise, z_0, z_kernel, kernels, biases, resq)
    slow = _chain_loop(hoisted, noise, z_0, z_kernel, kernels, biases, resq)
    fast_loss, slow_loss = loss(fast), loss(slow)
  for f, s in zip(fast, slow):
    # float32 values up to about 40 after the chain: a relative tolerance too (the products'
    # summation order differs between CPUs' matmul kernels: 1.5e-6 relative seen on one).
    np.testing.assert_allclose(f.numpy(), s.numpy(), atol=1e-5, rtol=1e-5)
  names = ['hoisted', 'noise', 'z_0', 'z_kernel'] + [f'kernel_{i}' for i in range(heads)] + [
      f'bias_{i}' for i in range(heads)]
  for name, g_fast, g_slow in zip(names, tape.gradient(fast_loss, args),
                                  tape.gradient(slow_loss, args)):
    assert np.any(g_slow.numpy() != 0), name
    np.testing.assert_allclose(g_fast.numpy(), g_slow.numpy(), atol=1e-4, rtol=1e-4,
                               err_msg=name)
