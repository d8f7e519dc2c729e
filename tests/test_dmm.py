"""The Deep Markov Model: its ELBO against a step-by-step oracle (values and gradients), its
bounds against its exact log-likelihood (z of dimension 1, by numerical integration), the gated
transition's definition, and what it reads."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from srnn_tf import bounds, layers
from srnn_tf.models import DMM, standardize_features
from srnn_tf.testing import compare, exact_loglik

REPEATS = 4000


_features = compare.random_features


def _oracle_terms(model, features, noise):
  """compute_terms written as the model's definition reads, one step at a time."""
  x, u = tf.constant(features['x']), tf.constant(features['u'])
  a = model.inference_states(x, tf.constant(features['mask']))
  z_prev = tf.zeros([x.shape[0], model.z_dim])
  log_px, kl = [], []
  for t in range(x.shape[1]):
    context = tf.concat([z_prev, u[:, t]], -1) if model.dmm_augmented else z_prev
    # The combiner and the gated transition from their formulas.
    c = model.combiner
    combined = 0.5 * (tf.tanh(z_prev @ c.from_z.kernel + c.from_z.bias) + a[:, t])
    mean_q = combined @ c.mean.kernel + c.mean.bias
    scale_q = tf.nn.softplus(combined @ c.scale.kernel + c.scale.bias)
    z = mean_q + tf.sqrt(scale_q ** 2 + layers.VARIANCE_FLOOR) * noise[:, t]
    g = model.transition
    gate = tf.sigmoid(tf.nn.relu(context @ g.gate_hidden.kernel + g.gate_hidden.bias)
                      @ g.gate.kernel + g.gate.bias)
    h = (tf.nn.relu(context @ g.proposal_hidden.kernel + g.proposal_hidden.bias)
         @ g.proposal.kernel + g.proposal.bias)
    mean_p = (1 - gate) * (z_prev @ g.linear_mean.kernel + g.linear_mean.bias) + gate * h
    scale_p = tf.nn.softplus(tf.nn.relu(h) @ g.scale.kernel + g.scale.bias)
    q = layers.diag_gaussian(mean_q, 2 * tf.math.log(scale_q))
    kl.append(q.kl_divergence(layers.diag_gaussian(mean_p, 2 * tf.math.log(scale_p))))
    emitted = tf.concat([z, u[:, t]], -1) if model.dmm_augmented else z
    log_px.append(model.frame.distribution(model.emission(emitted)).log_prob(x[:, t]))
    z_prev = z
  return tf.stack(log_px, 1), tf.stack(kl, 1)


@pytest.mark.parametrize('augmented,emission', [(False, 'bernoulli'), (True, 'nade')])
def test_elbo_terms_match_a_step_by_step_oracle_values_and_gradients(augmented, emission):
  keras.utils.set_random_seed(0)
  model = DMM(z_dim=3, a_dim=6, hidden_units=7, dmm_augmented=augmented, emission=emission,
              nade_units=5, seed=0)
  model.build()
  features = _features()
  noise = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)

  compare.assert_elbo_terms_match(
      model, lambda: model.compute_terms(features, noise=noise),
      lambda: _oracle_terms(model, features, noise))


def test_the_transition_starts_as_a_random_walk_mean():
  model = DMM(z_dim=4, a_dim=5, hidden_units=6)
  model.build()
  np.testing.assert_array_equal(model.transition.linear_mean.kernel.numpy(), np.eye(4))


@pytest.fixture(scope='module')
def tiny():
  # DMM-Aug.: the plain DMM's chain is the same with the previous frames left out (the oracle
  # test above covers both).
  keras.utils.set_random_seed(0)
  model = DMM(z_dim=1, a_dim=4, hidden_units=8, dmm_augmented=True, seed=0)
  model.build()
  features = _features(seed=3, batch=1, steps=4)
  return model, features, float(exact_loglik.dmm_log_px(model, features)[0])


def _copies(features):
  return compare.copies(features, REPEATS)


def test_exact_log_likelihood_is_converged_in_the_grid(tiny):
  model, features, log_p = tiny
  assert abs(exact_loglik.dmm_log_px(model, features, np.linspace(-16, 16, 5001))[0]
             - log_p) < 1e-4


def test_bounds_are_ordered_and_close_on_log_p(tiny):
  """ELBO <= IWAE_10 <= IWAE_100 <= log p(x) in expectation, SMC_100 close below log p."""
  model, features, log_p = tiny
  terms = model.compute_terms(standardize_features(_copies(features)))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  est = {(b, k): bounds.particle_log_likelihood(model, _copies(features), k,
                                                resample=b == 'smc', seed=(5, k)).numpy()
         for b, k in (('iwae', 10), ('iwae', 100), ('smc', 100))}
  stderr = lambda v: v.std() / np.sqrt(REPEATS)
  tol = lambda a, b: 4 * np.hypot(stderr(a), stderr(b))
  iwae10, iwae100, smc = est['iwae', 10], est['iwae', 100], est['smc', 100]
  assert elbo.mean() < iwae10.mean() + tol(elbo, iwae10)
  assert iwae10.mean() < iwae100.mean() + tol(iwae10, iwae100)
  assert iwae100.mean() < log_p + 4 * stderr(iwae100)
  assert log_p - elbo.mean() > 0.05                    # a real gap that the estimators close
  assert log_p - iwae100.mean() < 0.5 * (log_p - elbo.mean())
  assert abs(log_p - smc.mean()) < 0.05 + 4 * stderr(smc)


def test_likelihood_estimate_is_unbiased(tiny):
  model, features, log_p = tiny
  ratio = np.exp(bounds.particle_log_likelihood(model, _copies(features), 10, resample=False,
                                                seed=(3, 10)).numpy() - log_p)
  stderr = ratio.std() / np.sqrt(REPEATS)
  assert stderr < 0.03
  assert abs(ratio.mean() - 1.0) < 4 * stderr, (ratio.mean(), stderr)


@pytest.mark.parametrize('augmented', [False, True])
def test_it_reads_the_previous_frames_only_when_augmented(augmented):
  model = DMM(z_dim=2, a_dim=4, hidden_units=5, dmm_augmented=augmented, seed=0)
  model.build()
  f = _features()
  other = dict(f, u=f['u'].copy())
  other['u'][:, 0] = 1.0
  noise = np.zeros((2, 5, 2), np.float32)
  a, b = (model.compute_terms(g, noise=noise)['log_px'].numpy() for g in (f, other))
  assert np.array_equal(a, b) == (not augmented) == (not model.reads_inputs)


def test_generation_is_seeded_and_primed():
  model = DMM(z_dim=2, a_dim=4, hidden_units=5, dmm_augmented=True, seed=0)
  model.build()
  one, again = (model.generate(6, batch_size=2, seed=(1, 2)).numpy() for _ in range(2))
  assert one.shape == (2, 6, 88) and np.array_equal(one, again)
  primed = model.generate(3, batch_size=2, seed=(1, 2), prime=_features()['x'])
  assert primed.shape == (2, 3, 88)
  probs = model.reconstruct(_features()['x']).numpy()
  assert probs.shape == (2, 5, 88) and ((probs > 0) & (probs < 1)).all()
