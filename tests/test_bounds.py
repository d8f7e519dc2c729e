"""The estimators on a model whose log p(x) is known exactly (z of dimension 1, four steps,
p(x) by numerical integration): ELBO <= IWAE_K <= log p(x) in expectation, IWAE_K and SMC_K
approach log p(x) as K grows, and exp(estimate) is unbiased for p(x)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from srnn_tf.testing import exact_loglik
from srnn_tf.testing.tiny import model as tiny_model
from srnn_tf import bounds, smc
from srnn_tf.models import RNN, SRNN, VRNN, standardize_features

REPEATS = 4000   # independent draws, run as a batch of copies of the same sequence


def _tiny_srnn(seed, **kwargs):
  keras.utils.set_random_seed(seed)
  # The stacked GRU initialisation: the model these tests' seeds and sample sizes were chosen
  # on (with the per-gate one, p_hat / p at K=10 is too spread for 4,000 draws to be
  # informative, stderr 0.10).
  kwargs.setdefault('gru_init', 'orthogonal')
  model = SRNN(z_dim=1, d_dim=4, a_dim=4, hidden_units=8, embed_units=(8,), seed=0, **kwargs)
  model.build()
  x = (np.random.default_rng(0).random((1, 4, 88)) < 0.1).astype(np.float32)
  features = {k: v.numpy() for k, v in standardize_features(x).items()}
  return model, features


def _copies(features, n=REPEATS):
  return {k: np.repeat(v, n, axis=0) for k, v in features.items()}


@pytest.fixture(scope='module')
def tiny():
  model, features = _tiny_srnn(seed=0)
  return model, features, float(exact_loglik.srnn_log_px(model, features)[0])


def test_exact_log_likelihood_is_converged_in_the_grid(tiny):
  model, features, log_p = tiny
  finer = exact_loglik.srnn_log_px(model, features, np.linspace(-16, 16, 5001))[0]
  assert abs(finer - log_p) < 1e-4


def _estimates(model, features, bound, k, seed, repeats=REPEATS):
  # 'smc_always' resamples at every step (ESS threshold 1), so resampling is surely tested.
  return bounds.particle_log_likelihood(model, _copies(features, repeats), k,
                                        resample=bound != 'iwae',
                                        ess_threshold=1.0 if bound == 'smc_always' else 0.5,
                                        seed=(seed, k)).numpy()


def test_bounds_are_ordered_in_expectation(tiny):
  model, features, log_p = tiny
  terms = model.compute_terms(standardize_features(_copies(features)))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  means, stderrs = {}, {}
  for k in (1, 10, 100):
    est = _estimates(model, features, 'iwae', k, seed=1)
    means[k], stderrs[k] = est.mean(), est.std() / np.sqrt(REPEATS)
  tol = lambda *ks: 4 * np.sqrt(sum(stderrs[k] ** 2 for k in ks))
  # The K=1 importance weight is the ELBO with a sampled KL: same expectation.
  assert abs(elbo.mean() - means[1]) < 4 * np.hypot(elbo.std() / np.sqrt(REPEATS), stderrs[1])
  assert elbo.mean() < log_p
  assert means[1] < means[10] + tol(1, 10)
  assert means[10] < means[100] + tol(10, 100)
  assert means[100] < log_p + tol(100)
  # The gap closes: from about 0.35 nats at K=1 to a few hundredths at K=100.
  assert log_p - means[1] > 0.1
  assert log_p - means[100] < 0.05


def test_bounds_are_ordered_with_a_nade_emission():
  """ELBO <= IWAE_10 <= IWAE_100 <= log p(x), and SMC_100 close below it, where p(x_t | .)
  is a NADE: the exact log p(x) integrates z on a grid around the NADE's exact log_prob.

  1,000 draws (the NADE's 88 sequential keys make a draw slow): every margin stays several
  standard errors wide. Measured: log p - ELBO 1.59 nats, log p - IWAE_100 0.007 and log p -
  SMC_100 0.005 (standard errors 0.093, 0.0034 and 0.0036)."""
  repeats = 1000
  model, features = _tiny_srnn(seed=1, emission='nade', nade_units=5)
  log_p = float(exact_loglik.srnn_log_px(model, features)[0])
  finer = float(exact_loglik.srnn_log_px(model, features, np.linspace(-16, 16, 5001))[0])
  assert abs(finer - log_p) < 1e-4
  terms = model.compute_terms(standardize_features(_copies(features, repeats)))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  est = {k: _estimates(model, features, 'iwae', k, seed=5, repeats=repeats) for k in (10, 100)}
  smc = _estimates(model, features, 'smc', 100, seed=6, repeats=repeats)
  stderr = lambda v: v.std() / np.sqrt(repeats)
  assert elbo.mean() < est[10].mean() + 4 * np.hypot(stderr(elbo), stderr(est[10]))
  assert est[10].mean() < est[100].mean() + 4 * np.hypot(stderr(est[10]), stderr(est[100]))
  assert est[100].mean() < log_p + 4 * stderr(est[100])
  assert log_p - elbo.mean() > 0.05                 # a real gap that the estimators close
  assert 0 <= log_p - smc.mean() + 4 * stderr(smc) and log_p - smc.mean() < 0.05


@pytest.mark.parametrize('bound', ['iwae', 'smc', 'smc_always'])
def test_estimates_approach_log_p_as_k_grows(tiny, bound):
  model, features, log_p = tiny
  gaps = [log_p - _estimates(model, features, bound, k, seed=2).mean() for k in (1, 10, 100)]
  assert gaps[0] > gaps[1] > gaps[2] > -0.01
  assert gaps[2] < 0.05


@pytest.mark.parametrize('bound,k', [('iwae', 1), ('iwae', 10), ('smc', 10), ('smc', 30),
                                     ('smc_always', 10)])
def test_likelihood_estimate_is_unbiased(tiny, bound, k):
  model, features, log_p = tiny
  ratio = np.exp(_estimates(model, features, bound, k, seed=3) - log_p)   # p_hat / p(x)
  stderr = ratio.std() / np.sqrt(REPEATS)
  assert stderr < 0.03   # informative: the test could tell a 10% bias
  assert abs(ratio.mean() - 1.0) < 4 * stderr, (ratio.mean(), stderr)


def test_smc_resamples_and_stays_valid_on_a_long_sequence():
  """On 60 frames the IWAE weights degenerate; SMC resamples and does better."""
  model, _ = _tiny_srnn(seed=1)
  x = (np.random.default_rng(5).random((1, 60, 88)) < 0.08).astype(np.float32)
  f = {k: v.numpy() for k, v in standardize_features(x).items()}
  copies = _copies(f, 200)
  iwae = bounds.particle_log_likelihood(model, copies, 20, resample=False, seed=(4, 0)).numpy()
  smc = bounds.particle_log_likelihood(model, copies, 20, resample=True, seed=(4, 0)).numpy()
  assert np.all(np.isfinite(smc))
  assert smc.mean() > iwae.mean()
  assert smc.std() < iwae.std()


def test_same_seed_same_estimate(tiny):
  model, features, _ = tiny
  a = _estimates(model, features, 'smc', 10, seed=9)
  b = _estimates(model, features, 'smc', 10, seed=9)
  np.testing.assert_array_equal(a, b)


def test_nearby_seeds_share_no_random_stream():
  """Training step i passes seed (s, i), evaluation batch i likewise: no step of one may reuse
  the noise or resampling seed of a step of another (offsets like `seed + [0, 2 t]` would give
  (s, i + 2)'s step t - 1 the noise of (s, i)'s step t)."""
  used = set()
  for i in range(8):
    for t in range(40):
      for step_seed in smc.step_seeds(tf.constant([5, i]), tf.constant(t)):
        used.add(tuple(step_seed.numpy()))
  assert len(used) == 8 * 40 * 2


def test_padding_does_not_change_estimates(tiny):
  model, features, _ = tiny
  padded = {k: np.concatenate([v, np.zeros_like(v)], axis=1) for k, v in features.items()}
  for resample in (False, True):
    a = bounds.particle_log_likelihood(model, features, 7, resample, seed=(3, 3)).numpy()
    b = bounds.particle_log_likelihood(model, padded, 7, resample, seed=(3, 3)).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_vrnn_bounds_are_ordered():
  keras.utils.set_random_seed(0)
  model = VRNN(z_dim=2, d_dim=6, hidden_units=8, embed_units=(8,), seed=0)
  model.build()
  x = (np.random.default_rng(1).random((1, 6, 88)) < 0.1).astype(np.float32)
  f = {k: v.numpy() for k, v in standardize_features(x).items()}
  copies = _copies(f, 1000)
  # The ELBO and IWAE_1 are equal in expectation: within 4 standard errors of their
  # difference, on 10,000 copies so that those stay under 0.12 nats (on 1,000, a fixed 0.1
  # was 1.3 of them and rode on the draws).
  many = _copies(f, 10_000)
  terms = model.compute_terms(standardize_features(many))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  iwae = [bounds.particle_log_likelihood(model, many, 1, False, seed=(0, 1)).numpy()] + [
      bounds.particle_log_likelihood(model, copies, k, False, seed=(0, k)).numpy()
      for k in (10, 100)]
  smc = bounds.particle_log_likelihood(model, copies, 100, True, seed=(1, 0)).numpy()
  se = np.hypot(elbo.std(), iwae[0].std()) / np.sqrt(len(elbo))
  assert 4 * se < 0.12
  assert abs(elbo.mean() - iwae[0].mean()) < 4 * se
  assert iwae[0].mean() < iwae[1].mean() < iwae[2].mean()
  # On 6 steps, K = 100 takes both within a tenth of a nat of log p(x): close to each other.
  assert abs(smc.mean() - iwae[2].mean()) < 0.1


def test_vrnn_bounds_against_its_exact_log_likelihood():
  # A leak of x_t into p(x_t | ...) (say the emission reading h_t instead of h_{t-1}) would
  # put the ELBO or IWAE above the true log p(x); here they must sit under it and close in.
  keras.utils.set_random_seed(0)
  model = VRNN(z_dim=1, d_dim=4, hidden_units=8, embed_units=(8,), seed=0)
  model.build()
  x = (np.random.default_rng(2).random((1, 2, 88)) < 0.1).astype(np.float32)
  log_p = exact_loglik.vrnn_log_px(model, x[0])
  assert abs(exact_loglik.vrnn_log_px(model, x[0], np.linspace(-14, 14, 561)) - log_p) < 1e-4
  features = {k: v.numpy() for k, v in standardize_features(x).items()}
  terms = model.compute_terms(standardize_features(_copies(features)))
  elbo = (terms['log_px'] - terms['kl']).numpy().sum(1)
  iwae_1 = _estimates(model, features, 'iwae', 1, seed=5)
  iwae = _estimates(model, features, 'iwae', 100, seed=3)
  smc = _estimates(model, features, 'smc_always', 100, seed=4)
  se = lambda a: a.std() / np.sqrt(REPEATS)
  # The training path (compute_terms) and the particle path agree: the ELBO and IWAE_1 have
  # the same expectation. An untrained model need not exploit a leak, so this is the check
  # that catches one in compute_terms; IWAE_100 -> log p(x) catches one in the particle path.
  assert abs(elbo.mean() - iwae_1.mean()) < 4 * np.hypot(se(elbo), se(iwae_1))
  assert elbo.mean() < log_p - 0.01   # a real gap: z matters in this model
  for est in (iwae, smc):
    assert abs(est.mean() - log_p) < max(0.01, 4 * se(est))
  # exp(IWAE_1) is unbiased for p(x).
  w = np.exp(np.float64(iwae_1) - log_p)
  assert abs(w.mean() - 1) < 4 * se(w)


def test_rnn_estimators_are_its_exact_log_likelihood():
  keras.utils.set_random_seed(0)
  model = RNN(d_dim=6, hidden_units=8, embed_units=(8,))
  model.build()
  seqs = list((np.random.default_rng(0).random((3, 9, 88)) < 0.1).astype(np.uint8))
  exact = bounds.evaluate_bound(model, seqs, 'elbo', 1, progress=False)['elbo_per_step']
  for bound in ('iwae', 'smc'):
    r = bounds.evaluate_bound(model, seqs, bound, 5, progress=False)
    assert r['log_p_per_step'] == pytest.approx(exact, rel=1e-6)


def _unrolled_filter(model, features, k, resample, seed, ess_threshold):
  """The particle filter written out plainly: a Python loop over time steps and, when
  resampling, over sequences; inputs read by slicing. The same random streams as `smc`."""
  f = standardize_features(features)
  inputs = model.particle_inputs(f)
  mask = f['mask']
  batch, steps = mask.shape
  state = model.particle_initial_state(batch, k)
  log_w = tf.fill([batch, k], -np.log(k).astype(np.float32))
  log_z = tf.zeros([batch])
  for t in range(steps):
    noise_seed, ancestor_seed = smc.step_seeds(tf.constant(seed), t)
    noise = tf.random.stateless_normal([batch, k, model.z_dim], seed=noise_seed)
    state, log_alpha = model.particle_step(state, {n: v[:, t] for n, v in inputs.items()},
                                           noise)
    log_w = log_w + log_alpha * mask[:, t, None]
    increment = tf.reduce_logsumexp(log_w, axis=1)
    log_w, log_z = log_w - increment[:, None], log_z + increment
    if resample:
      ancestors = tf.random.stateless_categorical(log_w, k, seed=ancestor_seed)
      rows, weights = [], []
      for b in range(batch):
        if 1.0 / tf.reduce_sum(tf.exp(2.0 * log_w[b])) < ess_threshold * k:
          rows.append(tf.gather(state[b], ancestors[b]))
          weights.append(tf.fill([k], -np.log(k).astype(np.float32)))
        else:
          rows.append(state[b])
          weights.append(log_w[b])
      state, log_w = tf.stack(rows), tf.stack(weights)
  return log_z


@pytest.mark.parametrize('model_name', ['srnn', 'vrnn'])
@pytest.mark.parametrize('resample', [False, True])
def test_particle_filter_matches_an_unrolled_oracle_values_and_gradients(model_name, resample):
  """The compiled filter (a while loop over TensorArrays, `tf.where` for resampling) against
  the plain one: the same estimates and the same gradients for every weight, on sequences of
  different lengths."""
  keras.utils.set_random_seed(0)
  cls, sizes = (SRNN, dict(d_dim=6, a_dim=6)) if model_name == 'srnn' else (VRNN, dict(d_dim=6))
  model = cls(z_dim=2, hidden_units=8, embed_units=(8,), seed=0, **sizes)
  model.build()
  x = (np.random.default_rng(3).random((3, 7, 88)) < 0.15).astype(np.float32)
  mask = (np.arange(7)[None] < np.array([[7], [4], [6]])).astype(np.float32)
  features = {'x': x * mask[..., None], 'mask': mask}
  k, seed, threshold = 5, (2, 7), 0.9

  def with_gradients(fn):
    with tf.GradientTape() as tape:
      estimate = fn()
      total = tf.reduce_sum(estimate)
    return estimate, tape.gradient(total, model.trainable_variables)

  compiled = tf.function(lambda: smc.particle_log_likelihood(
      model, features, k, resample, ess_threshold=threshold, seed=seed))
  fast, fast_grads = with_gradients(compiled)
  plain, plain_grads = with_gradients(
      lambda: _unrolled_filter(model, features, k, resample, seed, threshold))
  np.testing.assert_allclose(fast, plain, rtol=1e-5)
  for v, a, b in zip(model.trainable_variables, fast_grads, plain_grads):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=v.path)


def test_evaluate_bound_reports_both_conventions(tiny):
  model, _, _ = tiny
  rng = np.random.default_rng(0)
  seqs = [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in (3, 8, 5)]
  r = bounds.evaluate_bound(model, seqs, 'smc', 16, progress=False)
  assert r['sequences'] == 3 and r['frames'] == 16 and r['num_particles'] == 16
  assert r['log_p_per_step'] != r['log_p_total_per_step']


@pytest.mark.parametrize('model_name', ['srnn', 'vrnn'])
def test_one_particle_compiles_and_never_resamples(tiny, model_name):
  # K=1 once lost its static width in the compiled particle loop (a while_loop shape error).
  if model_name == 'srnn':
    model = tiny[0]
  else:
    model = VRNN(z_dim=2, d_dim=6, hidden_units=8, embed_units=(8,), seed=0)
    model.build()
  rng = np.random.default_rng(0)
  seqs = [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in (3, 8, 5)]
  iwae, smc = (bounds.evaluate_bound(model, seqs, b, 1, progress=False)['log_p_per_step']
               for b in ('iwae', 'smc'))
  assert np.isfinite(iwae) and iwae == smc   # one particle: ESS = 1 = K, same noise


@pytest.mark.parametrize('objective', ['iwae', 'fivo'])
def test_particle_objectives_train_and_are_tighter_than_the_elbo(objective):
  keras.utils.set_random_seed(0)
  rolls = (np.random.default_rng(0).random((32, 20, 88)) < 0.1).astype(np.float32)
  model = tiny_model('srnn', seed=1, objective=objective, num_particles=8)
  model.compile(optimizer=keras.optimizers.Adam(1e-2))
  history = model.fit(rolls, batch_size=8, epochs=3, verbose=0).history
  assert history['loss'][-1] < history['loss'][0] - 5          # it learns
  # The bound it maximises is above the ELBO it logs: loss < -elbo in every epoch.
  assert all(loss < -elbo for loss, elbo in zip(history['loss'], history['elbo']))


def test_particle_objectives_refuse_carried_state():
  with pytest.raises(ValueError, match='nocarry_state'):
    SRNN(z_dim=2, d_dim=4, a_dim=4, objective='fivo', num_particles=4, stateful_batch_size=16)


def test_estimates_and_scores_run_with_functions_run_eagerly(tiny):
  """Under `tf.config.run_functions_eagerly(True)` (a user debugging), the compiled paths of
  `score` and the particle filter run op by op and give the numbers they give compiled."""
  model, features, _ = tiny
  compiled_smc = bounds.particle_log_likelihood(model, features, 5, True, seed=(4, 2)).numpy()
  compiled_score = model.score(features, seed=(1, 2))['elbo'].numpy()
  tf.config.run_functions_eagerly(True)
  try:
    eager_smc = bounds.particle_log_likelihood(model, features, 5, True, seed=(4, 2)).numpy()
    eager_score = model.score(features, seed=(1, 2))['elbo'].numpy()
  finally:
    tf.config.run_functions_eagerly(False)
  np.testing.assert_allclose(eager_smc, compiled_smc, rtol=1e-5)
  np.testing.assert_allclose(eager_score, compiled_score, rtol=1e-5)
