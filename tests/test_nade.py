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


@pytest.mark.parametrize('temperature', [0.3, 2.0])
def test_tempered_sampling_divides_each_conditional_logit(temperature):
  nade = _nade()
  uniform = tf.random.stateless_uniform([2, 3, 6], seed=(7, 8))
  x = nade.sample_with_uniform(uniform, temperature).numpy()
  # Key by key, with the conditionals of the drawn frame: x_d = [u_d < sigmoid(l_d / T)].
  tempered = tf.sigmoid(nade.conditional_logits(x) / temperature).numpy()
  np.testing.assert_array_equal(x, uniform.numpy() < tempered)
  assert not np.array_equal(x, nade.sample_with_uniform(uniform).numpy())


def test_gradients_are_finite_and_reach_every_parameter():
  rng = np.random.default_rng(0)
  params = [tf.Variable(rng.normal(size=s).astype(np.float32))
            for s in ((4, 10), (4, 6), (6, 10), (10, 6))]
  x = (rng.random((4, 10)) < 0.3).astype(np.float32)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_sum(NADE(*params).log_prob(x))
  for g in tape.gradient(loss, params):
    assert g is not None and np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0)


def _loop_log_prob_tf(b, c, w, v, x):
  """`log_prob` from the definition, one key at a time, in TF (so that it has gradients)."""
  a, total = c, 0.0
  for d in range(x.shape[-1]):
    logit = b[..., d] + tf.reduce_sum(tf.sigmoid(a) * v[d], -1)
    total -= tf.nn.sigmoid_cross_entropy_with_logits(labels=x[..., d], logits=logit)
    a = a + x[..., d, None] * w[:, d]
  return total


@pytest.mark.parametrize('density', [0.0, 0.1, 0.5, 1.0])
def test_log_prob_and_its_gradients_equal_a_key_by_key_loop(density):
  # The fast path computes hidden units only for the prefixes the frame's sounding keys make:
  # silent frames (one prefix), sparse ones, and frames where every key sounds (D + 1).
  rng = np.random.default_rng(7)
  shapes = ((3, 5, 16), (3, 5, 8), (8, 16), (16, 8))
  params = [tf.Variable(rng.normal(size=s)) for s in shapes]          # float64
  x = (rng.random((3, 5, 16)) < density).astype(np.float64)
  x[0, 0] = 1.0 if density > 0 else 0.0                 # the densest frame of the batch
  grads = []
  for log_prob in (  # float32, as the models run it, against the loop in float64
      lambda *p: tf.cast(NADE(*[tf.cast(t, tf.float32) for t in p]).log_prob(x), tf.float64),
      lambda *p: _loop_log_prob_tf(*p, tf.constant(x))):
    with tf.GradientTape() as tape:
      value = log_prob(*params)
      loss = tf.reduce_sum(value * np.arange(1, 16).reshape(3, 5))   # weights differ per frame
    grads.append([value.numpy()] + [g.numpy() for g in tape.gradient(loss, params)])
  for fast, loop in zip(*grads):
    np.testing.assert_allclose(fast, loop, rtol=1e-4, atol=1e-4)


def test_validate_args_rejects_frames_that_are_not_binary():
  nade = NADE(np.zeros(3, np.float32), np.zeros(2, np.float32), np.zeros((2, 3), np.float32),
              np.zeros((3, 2), np.float32), validate_args=True)
  nade.log_prob(np.array([0, 1, 1], np.float32))
  with pytest.raises(tf.errors.InvalidArgumentError, match='0/1'):
    nade.log_prob(np.array([0, 0.5, 1], np.float32))


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


def test_fit_recovers_a_small_distribution_by_maximum_likelihood():
  from srnn_tf import nade
  # Three keys that sound in correlated pairs: what independent keys cannot express.
  frames = _all_frames(3)
  truth = np.array([0.10, 0.0, 0.05, 0.30, 0.0, 0.25, 0.30, 0.0])
  data = frames[np.random.default_rng(0).choice(8, size=20000, p=truth)]
  params = nade.fit(data, units=8, steps=1500, batch_size=500, learning_rate=1e-2, seed=0)
  fitted = np.exp(NADE(**params).log_prob(frames).numpy())
  empirical = np.bincount((data @ np.array([4, 2, 1])).astype(int), minlength=8) / len(data)
  assert 0.5 * np.abs(fitted - empirical).sum() < 0.02, (fitted, empirical)


def test_a_model_starts_from_the_fitted_nade():
  from srnn_tf.models import RNN, standardize_features
  model = RNN(d_dim=8, hidden_units=9, embed_units=(7,), emission='nade', nade_units=5)
  model.build()
  rng = np.random.default_rng(1)
  params = {'visible_bias': rng.normal(size=88), 'hidden_bias': rng.normal(size=5),
            'input_weights': rng.normal(size=(5, 88)), 'output_weights': rng.normal(size=(88, 5))}
  params = {k: v.astype(np.float32) for k, v in params.items()}
  model.start_emission_from(params)
  # With the emission MLP's output weights at zero, every state's frame distribution is the
  # fitted NADE itself: biases in the right order, weights in the right places.
  model.emission.out.kernel.assign(tf.zeros_like(model.emission.out.kernel))
  x = (rng.random((2, 4, 88)) < 0.1).astype(np.float32)
  f = standardize_features(x)
  d = model.gru_d(model.embed(f['u']))
  np.testing.assert_allclose(model.decoder(d).log_prob(x).numpy(),
                             NADE(**params).log_prob(x).numpy(), rtol=1e-5)
  bernoulli = RNN(d_dim=8, hidden_units=9, embed_units=(7,))
  bernoulli.build()
  with pytest.raises(ValueError, match='not a NADE'):
    bernoulli.start_emission_from(params)
