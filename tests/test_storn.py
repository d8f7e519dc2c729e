"""STORN: its ELBO against a step-by-step oracle (values and gradients), and its bounds
against its exact log-likelihood (z of dimension 1, two frames, by numerical integration)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import bounds, layers
from srnn_tf.models import STORN, standardize_features
from srnn_tf.testing import compare, exact_loglik

REPEATS = 4000


_features = compare.random_features


def _oracle_terms(model, features, noise):
  """The definition, one step at a time: a_t and z_t from q, then d_t from [e(x_{t-1}), z_t]."""
  x, u = tf.constant(features['x']), tf.constant(features['u'])
  batch, steps = x.shape[:2]
  a, d = tf.zeros([batch, model.a_dim]), tf.zeros([batch, model.d_dim])
  log_px, kl = [], []
  for t in range(steps):
    a = model.gru_a.step(model.gru_a.project(model.embed(x[:, t])), a)
    mean, log_var = tf.split(model.posterior_net(a), 2, axis=-1)
    z = mean + tf.sqrt(tf.exp(log_var) + layers.VARIANCE_FLOOR) * noise[:, t]
    previous = u[:, 0] if t == 0 else x[:, t - 1]
    d = model.gru_d.step(model.gru_d.project(tf.concat([model.embed(previous), z], -1)), d)
    log_px.append(model.frame.distribution(model.emission(d)).log_prob(x[:, t]))
    kl.append(layers.diag_gaussian(mean, log_var).kl_divergence(
        tfp.distributions.MultivariateNormalDiag(loc=tf.zeros_like(z))))
  return tf.stack(log_px, 1), tf.stack(kl, 1)


@pytest.mark.parametrize('emission', ['bernoulli', 'nade'])
def test_elbo_terms_match_a_step_by_step_oracle_values_and_gradients(emission):
  keras.utils.set_random_seed(0)
  model = STORN(z_dim=3, d_dim=6, a_dim=5, hidden_units=7, embed_units=(8,),
                emission=emission, nade_units=5, seed=0)
  model.build()
  features = _features()
  features['u'][:, 0] = features['x'][:, 1]          # a u_1 of its own, as a release's
  noise = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)

  compare.assert_elbo_terms_match(
      model, lambda: model.compute_terms(features, noise=noise),
      lambda: _oracle_terms(model, features, noise))


@pytest.fixture(scope='module')
def tiny():
  keras.utils.set_random_seed(0)
  # The per-gate start gives this tiny model's posterior a gap to log p that the estimators
  # must close (0.06 nats; 0.03 with the stacked start, too little to test the ordering).
  model = STORN(z_dim=1, d_dim=4, a_dim=4, hidden_units=8, embed_units=(8,), seed=0,
                gru_init='orthogonal_per_gate')
  model.build()
  features = _features(seed=3, batch=1, steps=2)
  return model, features, exact_loglik.storn_log_px(model, features['x'][0])


def _copies(features):
  return compare.copies(features, REPEATS)


def test_exact_log_likelihood_is_converged_in_the_grid(tiny):
  model, features, log_p = tiny
  finer = exact_loglik.storn_log_px(model, features['x'][0], grid=np.linspace(-11, 11, 601))
  assert abs(finer - log_p) < 1e-4


def test_bounds_are_ordered_and_unbiased(tiny):
  """ELBO <= IWAE_10 <= IWAE_100 <= log p(x) in expectation; exp(IWAE_10) unbiased for p."""
  model, features, log_p = tiny
  terms = model.compute_terms(standardize_features(_copies(features)))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  est = {k: bounds.particle_log_likelihood(model, _copies(features), k, resample=False,
                                           seed=(5, k)).numpy() for k in (1, 10, 100)}
  stderr = lambda v: v.std() / np.sqrt(REPEATS)
  tol = lambda a, b: 4 * np.hypot(stderr(a), stderr(b))
  assert abs(elbo.mean() - est[1].mean()) < tol(elbo, est[1])   # K = 1: the ELBO's mean
  assert elbo.mean() < est[10].mean() + tol(elbo, est[10])
  assert est[10].mean() < est[100].mean() + tol(est[10], est[100])
  assert est[100].mean() < log_p + 4 * stderr(est[100])
  assert log_p - elbo.mean() > 0.05
  ratio = np.exp(est[10] - log_p)
  assert ratio.std() / np.sqrt(REPEATS) < 0.03
  assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(REPEATS)
