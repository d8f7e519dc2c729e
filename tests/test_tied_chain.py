"""The SRNN's chain on the tied models: the ELBO against a step-by-step oracle (values and
gradients), the bounds against the exact log-likelihood (z of dimension 1, a small keyboard),
the particle filter's per-particle key axis, generation and the carried state."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from srnn_tf import bounds, layers
from srnn_tf.models import SRNNBALSTM, SRNNTPLSTMNADE, standardize_features
from srnn_tf.models.tied import bernoulli_log_prob
from srnn_tf.testing import compare, exact_loglik

KEYS = 12
SIZES = dict(time_units=(5, 4), z_dim=3, a_dim=6, hidden_units=7, embed_units=(6,),
             num_keys=KEYS, seed=0)
MODELS = {'balstm': (SRNNBALSTM, dict(key_units=(4, 3))),
          'tp_lstm_nade': (SRNNTPLSTMNADE, dict(nade_units=5))}


def _model(name, **overrides):
  keras.utils.set_random_seed(0)
  cls, own = MODELS[name]
  model = cls(**{**SIZES, **own, **overrides})
  model.build()
  return model


def _features(seed=0, batch=2, steps=5):
  return compare.random_features(seed, batch, steps, keys=KEYS, density=0.3)


def _oracle_terms(model, features, noise):
  """The chain one step at a time from the transition's own prior and posterior, the key axis
  one frame at a time."""
  x = tf.constant(features['x'])
  o, _ = model.time_axis(tf.constant(features['u']))
  d = tf.reduce_mean(o, axis=2)
  a = model.gru_a([d, model.embed(x)], reverse=True)
  z_prev = tf.zeros([x.shape[0], model.z_dim])
  log_px, kl = [], []
  for t in range(x.shape[1]):
    prior = model.transition.prior(d[:, t], z_prev)
    mean_q, log_var_q = model.transition.posterior(a[:, t], z_prev, prior_mean=prior[0])
    z = mean_q + tf.sqrt(tf.exp(log_var_q) + layers.VARIANCE_FLOOR) * noise[:, t]
    kl.append(layers.diag_gaussian(mean_q, log_var_q).kl_divergence(
        layers.diag_gaussian(*prior)))
    frame = o[:, t:t + 1] + (z @ model.z_to_keys.kernel + model.z_to_keys.bias)[:, None, None]
    log_px.append(bernoulli_log_prob(model.key_logits(frame, x[:, t:t + 1]), x[:, t:t + 1])[:, 0])
    z_prev = z
  return tf.stack(log_px, 1), tf.stack(kl, 1)


@pytest.mark.parametrize('name', list(MODELS))
def test_elbo_terms_match_a_step_by_step_oracle_values_and_gradients(name):
  model = _model(name)
  features = _features()
  noise = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)
  compare.assert_elbo_terms_match(model, lambda: model.compute_terms(features, noise=noise),
                                  lambda: _oracle_terms(model, features, noise))


REPEATS = 2000


@pytest.fixture(scope='module')
def tiny():
  model = _model('balstm', z_dim=1)
  features = _features(seed=3, batch=1, steps=3)
  return model, features, float(exact_loglik.tied_chain_log_px(model, features)[0])


def _copies(features):
  return compare.copies(features, REPEATS)


def test_exact_log_likelihood_is_converged_in_the_grid(tiny):
  model, features, log_p = tiny
  finer = exact_loglik.tied_chain_log_px(model, features, np.linspace(-16, 16, 3001))[0]
  assert abs(finer - log_p) < 1e-4


def test_bounds_are_ordered_and_unbiased(tiny):
  """ELBO <= IWAE_10 <= log p(v) in expectation, exp(IWAE_10) unbiased for p(v), and SMC_10
  close below log p: the key axis runs per particle."""
  model, features, log_p = tiny
  terms = model.compute_terms(standardize_features(_copies(features)))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  iwae, smc = (bounds.particle_log_likelihood(model, _copies(features), 10, resample=r,
                                              seed=(5, 10)).numpy() for r in (False, True))
  stderr = lambda v: v.std() / np.sqrt(REPEATS)
  assert elbo.mean() < iwae.mean() + 4 * np.hypot(stderr(elbo), stderr(iwae))
  assert iwae.mean() < log_p + 4 * stderr(iwae)
  assert log_p - elbo.mean() > 0.02                  # a real gap that the estimators close
  assert log_p - iwae.mean() < 0.5 * (log_p - elbo.mean())
  ratio = np.exp(iwae - log_p)
  assert ratio.std() / np.sqrt(REPEATS) < 0.03
  assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(REPEATS)
  assert log_p - smc.mean() < 0.5 * (log_p - elbo.mean())


@pytest.mark.parametrize('name', list(MODELS))
def test_generation_and_carried_state(name):
  model = _model(name)
  one, again = (model.generate(4, batch_size=2, seed=(1, 2)).numpy() for _ in range(2))
  assert one.shape == (2, 4, KEYS) and np.array_equal(one, again)
  features = _features()
  assert model.generate(3, batch_size=2, seed=(1, 2), prime=features['x']).shape == (2, 3, KEYS)
  # The final state holds the time axis's and z_T, in state_sizes() order.
  final = model.compute_terms(features)['final_state']
  assert [int(s.shape[1]) for s in final] == list(model.state_sizes())
  assert model.state_sizes()[-1] == model.z_dim
