"""The SRNN's maths: fast model == per-step oracle (values and gradients), closed-form KL
== Monte Carlo, a tiny model == numpy, finite gradients, option coverage."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from srnn_tf.testing import oracle
from srnn_tf import layers, recurrences
from srnn_tf.models import SRNN, standardize_features


def _batch(batch=3, steps=7, seed=0, pad=True):
  rng = np.random.default_rng(seed)
  x = (rng.random((batch, steps, 88)) < 0.1).astype(np.float32)
  mask = np.ones((batch, steps), np.float32)
  if pad:  # ragged lengths: padding at the end, as the eval pipeline makes it
    for b in range(1, batch):
      mask[b, steps - 2 * b:] = 0
    x *= mask[..., None]
  f = standardize_features({'x': x, 'mask': mask})
  return {k: v.numpy() for k, v in f.items()}


def _model(**kwargs):
  sizes = dict(z_dim=5, d_dim=8, a_dim=6, hidden_units=11, embed_units=(9, 7), seed=3)
  keras.utils.set_random_seed(0)            # the same weights in every run of the suite
  model = SRNN(**{**sizes, **kwargs})
  model.build()
  # Non-zero biases, so the oracle checks that they enter where they should.
  rng = np.random.default_rng(1)
  for v in model.trainable_variables:
    if 'bias' in v.path:
      v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32))
  return model


@pytest.mark.parametrize('inference,resq,emission', [
    ('smoothing', True, 'bernoulli'), ('smoothing', False, 'bernoulli'),
    ('filtering', True, 'bernoulli'), ('smoothing', True, 'nade')])
def test_fast_model_matches_per_step_oracle(inference, resq, emission):
  model = _model(inference=inference, resq=resq, emission=emission, nade_units=6)
  f = _batch()
  noise = np.random.default_rng(2).normal(size=(3, 7, 5)).astype(np.float32)

  with tf.GradientTape(persistent=True) as tape:
    fast = model.compute_terms(f, noise=noise)
    fast_elbo = tf.reduce_sum((fast['log_px'] - fast['kl']) * f['mask'])
    slow_log_px, slow_kl = oracle.srnn_terms(model, f['x'], f['u'], f['mask'], noise,
                                             xp=oracle.TF)
    slow_elbo = tf.reduce_sum((slow_log_px - slow_kl) * f['mask'])

  m = f['mask'].astype(bool)
  np.testing.assert_allclose(fast['log_px'].numpy()[m], slow_log_px.numpy()[m], atol=1e-4)
  np.testing.assert_allclose(fast['kl'].numpy()[m], slow_kl.numpy()[m], atol=1e-4)
  assert abs(float(fast_elbo) - float(slow_elbo)) < 1e-4 * abs(float(slow_elbo))

  variables = model.trainable_variables
  fast_grads = tape.gradient(fast_elbo, variables)
  slow_grads = tape.gradient(slow_elbo, variables)
  for v, g_fast, g_slow in zip(variables, fast_grads, slow_grads):
    assert g_fast is not None and g_slow is not None, v.path
    np.testing.assert_allclose(g_fast.numpy(), g_slow.numpy(), atol=1e-4, rtol=1e-3,
                               err_msg=v.path)


def test_tiny_model_matches_numpy():
  """Fixed weights, float64 numpy reference built only from the weights."""
  model = _model()
  f = _batch(batch=2, steps=5, seed=4)
  noise = np.random.default_rng(5).normal(size=(2, 5, 5)).astype(np.float32)
  fast = model.compute_terms(f, noise=noise)
  log_px, kl = oracle.srnn_terms(model, f['x'], f['u'], f['mask'], noise, xp=oracle.NUMPY)
  m = f['mask'].astype(bool)
  np.testing.assert_allclose(fast['log_px'].numpy()[m], log_px[m], rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(fast['kl'].numpy()[m], kl[m], rtol=1e-5, atol=1e-4)
  summary = model.summarize(fast, f['mask'])
  np.testing.assert_allclose(summary['elbo'].numpy(),
                             ((log_px - kl) * f['mask']).sum(1), rtol=1e-5)


def test_projected_gru_matches_keras_gru_cell():
  gru = layers.ProjectedGRU(6)
  x = tf.random.stateless_normal([2, 9, 4], seed=[1, 2])
  out = gru(x)
  cell = keras.layers.GRUCell(6, reset_after=True)
  cell.build((None, 4))
  cell.set_weights([gru.kernel.numpy(), gru.recurrent_kernel.numpy(),
                    np.random.default_rng(0).normal(size=(2, 18)).astype(np.float32)])
  gru.bias.assign(cell.bias.numpy())
  out = gru(x)
  h = tf.zeros([2, 6])
  for t in range(9):
    h, _ = cell(x[:, t], [h])
    np.testing.assert_allclose(out[:, t].numpy(), h.numpy(), atol=1e-5)


def test_closed_form_kl_matches_monte_carlo():
  rng = np.random.default_rng(0)
  mq, mp = rng.normal(size=(2, 4)).astype(np.float32)
  lq, lp = rng.normal(0, 0.5, size=(2, 4)).astype(np.float32)
  q, p = layers.diag_gaussian(mq, lq), layers.diag_gaussian(mp, lp)
  closed = float(q.kl_divergence(p))
  z = q.sample(400_000, seed=7)
  log_ratio = (q.log_prob(z) - p.log_prob(z)).numpy()
  stderr = log_ratio.std() / np.sqrt(len(log_ratio))
  assert abs(log_ratio.mean() - closed) < 4 * stderr, (log_ratio.mean(), closed, stderr)
  # And the variance floor is part of the distribution: sigma^2 = exp(log_var) + 1e-6.
  tiny = layers.diag_gaussian(np.zeros(3, np.float32), np.full(3, -80.0, np.float32))
  np.testing.assert_allclose(tiny.stddev().numpy(), np.sqrt(1e-6), rtol=1e-4)


def test_bernoulli_likelihood_is_cross_entropy():
  logits = np.random.default_rng(0).normal(size=(2, 3, 88)).astype(np.float32)
  x = (np.random.default_rng(1).random((2, 3, 88)) < 0.3).astype(np.float32)
  got = layers.bernoulli_frames(logits).log_prob(x).numpy()
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  want = (x * np.log(p) + (1 - x) * np.log(1 - p)).sum(-1)
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_clipped_leaky_relu():
  v = tf.constant([-20.0, -3.0, 0.0, 1.5, 9.0])
  np.testing.assert_allclose(layers.clipped_leaky_relu(v).numpy(), [-3.0, -1.0, 0.0, 1.5, 3.0])


def test_padding_does_not_change_a_sequence_score():
  """A sequence scores the same alone and padded in a batch with longer ones."""
  model = _model()
  f = _batch(batch=3, steps=7, pad=True)
  noise = np.random.default_rng(2).normal(size=(3, 7, 5)).astype(np.float32)
  full = model.summarize(model.compute_terms(f, noise=noise), f['mask'])
  n = int(f['mask'][2].sum())
  alone = {k: v[2:, :n] for k, v in f.items()}
  single = model.summarize(model.compute_terms(alone, noise=noise[2:, :n]), alone['mask'])
  np.testing.assert_allclose(full['elbo'][2].numpy(), single['elbo'][0].numpy(), rtol=1e-5)


def test_gradients_are_finite_and_reach_every_weight():
  model = _model()
  f = _batch()
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(model(f, training=True)['elbo_per_step'])
  grads = tape.gradient(loss, model.trainable_variables)
  assert len(grads) == len(model.trainable_variables) > 0
  for v, g in zip(model.trainable_variables, grads):
    assert g is not None, v.path
    assert np.all(np.isfinite(g.numpy())), v.path
    assert np.any(g.numpy() != 0), v.path


def test_paper_configuration_size():
  model = SRNN()
  model.build()
  # embed 88-500-500, GRU d, GRU a, 4 Gaussian MLPs, emission: 3,255,588 weights.
  assert model.count_params() == 3_255_588


def test_bfloat16_training_products_approximate_the_float32_step():
  model = _model(z_dim=16, d_dim=32, a_dim=32, hidden_units=48, embed_units=(40, 40))
  f = _batch(batch=4, steps=20)
  noise = np.random.default_rng(2).normal(size=(4, 20, 16)).astype(np.float32)

  def elbo_and_grads(dtype):
    with recurrences.matmul_precision(dtype):
      with tf.GradientTape() as tape:
        terms = model.compute_terms(f, noise=noise)
        elbo = tf.reduce_sum((terms['log_px'] - terms['kl']) * f['mask'])
      grads = tape.gradient(elbo, model.trainable_variables)
    return float(elbo), np.concatenate([g.numpy().ravel() for g in grads])

  elbo32, grads32 = elbo_and_grads('float32')
  elbo16, grads16 = elbo_and_grads('bfloat16')
  assert elbo16 != elbo32                                     # the products did change...
  assert abs(elbo16 - elbo32) < 1e-2 * abs(elbo32)            # ...by bfloat16's rounding
  cosine = grads16 @ grads32 / np.linalg.norm(grads16) / np.linalg.norm(grads32)
  assert cosine > 0.999
  assert recurrences._matmul_dtype == tf.float32              # restored after the block


@pytest.mark.parametrize('option', ['dropout_d', 'dropout_z', 'dropout_emb_u', 'dropout_emb_x'])
def test_dropout_acts_in_training_only_and_where_the_release_puts_it(option):
  model = _model(**{option: 0.5})
  f = _batch()
  noise = np.random.default_rng(2).normal(size=(3, 7, 5)).astype(np.float32)
  plain = _model()                                  # the same weights, no dropout
  plain.set_weights(model.get_weights())
  reference = plain.compute_terms(f, noise=noise)
  evaluated = model.compute_terms(f, noise=noise)
  trained = model.compute_terms(f, training=True, noise=noise)
  for key in ('log_px', 'kl'):                      # evaluation never drops
    np.testing.assert_allclose(evaluated[key].numpy(), reference[key].numpy(), rtol=1e-6)
  assert not np.allclose(trained['log_px'].numpy(), reference['log_px'].numpy())
  # z is dropped only on its way into the emission: the chain and its KL are untouched.
  kl_unchanged = np.allclose(trained['kl'].numpy(), reference['kl'].numpy(), rtol=1e-6)
  assert kl_unchanged == (option == 'dropout_z')
  # The recurrence sees the dropped embedding of u, nothing else changes d itself; the
  # carried state is the undropped d_T (and z_T, unless d's dropout reached q).
  d_T, z_T = trained['final_state']
  d_changed = not np.allclose(d_T.numpy(), reference['final_state'][0].numpy(), rtol=1e-6)
  assert d_changed == (option == 'dropout_emb_u')
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(model(f, training=True)['elbo_per_step'])
  grads = tape.gradient(loss, model.trainable_variables)
  assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def test_each_epoch_draws_its_own_dropout_masks():
  """The stateful noise of epoch e's training (`reseed(2e)`) and validation (`reseed(2e+1)`)
  shares no seed with another epoch's or with the stateless training z noise, `(seed, step)`
  (from `(seed, counter)` as Keras counts on, epoch 1 repeated epoch 0's masks from its
  third draw)."""
  model = _model(dropout_d=0.5)   # seed 3
  drawn = []
  for counter in range(6):   # epochs 0-2, training and validation
    model.reseed(counter)
    drawn += [tuple(model.seed_generator.next().numpy()) for _ in range(50)]
  assert len(set(drawn)) == len(drawn)
  assert not any(a == 3 and 0 <= b < 10 ** 6 for a, b in drawn)


def test_dropout_rate_is_checked():
  with pytest.raises(ValueError, match='dropout_d'):
    SRNN(dropout_d=1.0)


def test_per_gate_orthogonal_init_makes_every_gate_block_orthogonal():
  def block_singular_values(init):
    keras.utils.set_random_seed(0)
    model = _model(gru_init=init, d_dim=12, a_dim=12, embed_units=(9, 20))
    out = []
    for gru in (model.gru_d, model.gru_a):
      for w in (gru.kernel.numpy(), gru.recurrent_kernel.numpy()):
        out += [np.linalg.svd(b, compute_uv=False) for b in np.split(w, 3, axis=1)]
    return out

  for s in block_singular_values('orthogonal_per_gate'):
    np.testing.assert_allclose(s, 1.0, atol=1e-5)
  # The stacked default: the square recurrent kernel's blocks have RMS singular value 1/sqrt(3).
  stacked = block_singular_values('orthogonal')
  assert not all(np.allclose(s, 1.0, atol=1e-3) for s in stacked)
  recurrent_d = np.concatenate(stacked[3:6])
  np.testing.assert_allclose(np.sqrt(np.mean(recurrent_d ** 2)), np.sqrt(1 / 3), rtol=1e-4)
  model = _model(gru_init='orthogonal_per_gate')
  assert SRNN.from_config(model.get_config()).gru_d.init == 'orthogonal_per_gate'


def test_free_bits_floor_each_frames_kl_in_the_training_loss_only():
  """Free bits (Kingma et al. 2016) per frame: in training, a frame's KL below the floor costs
  the floor; the logged KL and every evaluation keep the true one."""
  from srnn_tf.testing import tiny
  x = (np.random.default_rng(0).random((3, 6, 88)) < 0.1).astype(np.float32)
  features = standardize_features(x)
  probe = tiny.model('srnn', seed=0)
  probe.compile(optimizer=keras.optimizers.Adam(1e-3))
  probe.build()
  true_kl = probe._objective(features, True, 1.0)[4]['kl'].numpy()
  floor = float(np.median(true_kl))            # some frames below it, some above
  model = tiny.model('srnn', seed=0, free_bits=floor)
  model.compile(optimizer=keras.optimizers.Adam(1e-3))
  model.build()
  model.set_weights(probe.get_weights())
  loss, _, kl, _, terms = model._objective(features, True, 1.0)
  np.testing.assert_allclose(terms['kl'].numpy(), true_kl, rtol=1e-6)
  expected = -np.mean(terms['log_px'].numpy() - np.maximum(true_kl, floor))
  np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
  assert float(kl) == pytest.approx(true_kl.mean(), rel=1e-5)       # logged: the true KL
  loss, log_px, kl, _, _ = model._objective(features, False, 1.0)    # evaluation: the ELBO
  np.testing.assert_allclose(float(loss), -(float(log_px) - float(kl)), rtol=1e-5)
  with pytest.raises(ValueError, match='free_bits applies to the ELBO'):
    tiny.model('srnn', free_bits=0.5, objective='iwae', num_particles=2)
