"""The NADE distribution: normalisation by enumeration, log_prob against a key-by-key loop,
samples against prob (chi-square), gradients, and TFP's batch/event shape semantics."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from srnn_tf.nade import NADE


def _nade(keys=6, hidden=4, batch=(2, 3), seed=0, scale=1.5):
  rng = np.random.default_rng(seed)
  normal = lambda *s: (scale * rng.normal(size=s)).astype(np.float32)
  return NADE(normal(*batch, keys), normal(*batch, hidden), normal(hidden, keys),
              normal(keys, hidden))


def _all_frames(keys):
  return np.array(list(itertools.product([0, 1], repeat=keys)), np.float32)


def _loop_conditionals(nade, x):
  """float64 numpy `p(x_d = 1 | x_<d)`, one key at a time, from the definition."""
  b, c = (np.asarray(v, np.float64) for v in (nade.visible_bias, nade.hidden_bias))
  w, v = (np.asarray(t, np.float64) for t in (nade.input_weights, nade.output_weights))
  x = np.broadcast_to(np.asarray(x, np.float64), np.broadcast_shapes(np.shape(x), b.shape))
  a = np.broadcast_to(c, x.shape[:-1] + c.shape[-1:]).copy()
  probs = np.zeros(x.shape)
  for d in range(x.shape[-1]):
    probs[..., d] = 1.0 / (1.0 + np.exp(-(b[..., d] + (1.0 / (1.0 + np.exp(-a))) @ v[d])))
    a = a + x[..., d, None] * w[:, d]
  return probs


def _loop_log_prob(nade, x):
  p = _loop_conditionals(nade, x)
  return np.sum(np.where(np.broadcast_to(x, p.shape) == 1, np.log(p), np.log1p(-p)), -1)


@pytest.mark.parametrize('keys', [1, 4, 10])
def test_probabilities_of_all_configurations_sum_to_one(keys):
  nade = _nade(keys=keys)
  frames = _all_frames(keys)[:, None, None]            # [2^n, 1, 1, n] against batch [2, 3]
  total = tf.reduce_sum(tf.exp(tf.cast(nade.log_prob(frames), tf.float64)), 0).numpy()
  np.testing.assert_allclose(total, np.ones((2, 3)), rtol=1e-5)


def test_log_prob_equals_a_key_by_key_loop():
  nade = _nade(keys=12, hidden=7, seed=1)
  x = (np.random.default_rng(2).random((5, 2, 3, 12)) < 0.4).astype(np.float32)
  np.testing.assert_allclose(nade.log_prob(x).numpy(), _loop_log_prob(nade, x),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(nade.conditional_probs(x).numpy(), _loop_conditionals(nade, x),
                             rtol=1e-5, atol=1e-6)


def test_sample_frequencies_match_prob_chi_square():
  nade = _nade(keys=3, hidden=5, batch=(), seed=3, scale=1.0)
  draws = 40_000
  samples = nade.sample(draws, seed=(4, 5)).numpy()
  assert samples.shape == (draws, 3) and set(np.unique(samples)) <= {0.0, 1.0}
  frames = _all_frames(3)
  expected = draws * np.exp(nade.log_prob(frames).numpy())
  codes = (samples @ np.array([4, 2, 1])).astype(int)    # itertools.product order
  observed = np.bincount(codes, minlength=8)
  chi2 = np.sum((observed - expected) ** 2 / expected)
  assert expected.min() > 50                             # the approximation holds
  assert chi2 < 24.32, (observed, expected)              # chi-square, 7 dof, p = 0.001


def test_sampling_is_deterministic_given_the_seed_or_the_uniforms():
  nade = _nade()
  np.testing.assert_array_equal(nade.sample(4, seed=(1, 1)), nade.sample(4, seed=(1, 1)))
  assert not np.array_equal(nade.sample(4, seed=(1, 1)), nade.sample(4, seed=(1, 2)))
  uniform = tf.random.stateless_uniform([2, 3, 6], seed=(7, 7))
  x = nade.sample_with_uniform(uniform).numpy()
  # Key by key: x_d = [u_d < p(x_d = 1 | x_<d)], with the conditionals of the drawn frame.
  np.testing.assert_array_equal(x, (uniform.numpy() < nade.conditional_probs(x).numpy()))


def test_gradients_are_finite_and_reach_every_parameter():
  rng = np.random.default_rng(0)
  params = [tf.Variable(rng.normal(size=s).astype(np.float32))
            for s in ((4, 10), (4, 6), (6, 10), (10, 6))]
  x = (rng.random((4, 10)) < 0.3).astype(np.float32)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_sum(NADE(*params).log_prob(x))
  for p, g in zip(params, tape.gradient(loss, params)):
    assert g is not None and np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0)


def test_batch_and_event_shapes_as_tfp_defines_them():
  nade = _nade(keys=6, hidden=4, batch=(2, 3))
  assert nade.batch_shape == (2, 3) and nade.event_shape == (6,)
  assert tuple(nade.batch_shape_tensor().numpy()) == (2, 3)
  assert tuple(nade.event_shape_tensor().numpy()) == (6,)
  assert nade.sample(5, seed=(0, 1)).shape == (5, 2, 3, 6)
  assert nade.log_prob(np.zeros(6, np.float32)).shape == (2, 3)       # broadcast over batch
  assert nade[1].batch_shape == (3,)                                   # slicing, by TFP
  # Biases of different batch shapes broadcast; the weights are shared (no batch of their own).
  broadcast = NADE(np.zeros((2, 1, 6), np.float32), np.zeros((3, 4), np.float32),
                   np.zeros((4, 6), np.float32), np.zeros((6, 4), np.float32))
  assert broadcast.batch_shape == (2, 3)
  np.testing.assert_allclose(broadcast.log_prob(np.ones(6, np.float32)), 6 * np.log(0.5),
                             rtol=1e-6)
