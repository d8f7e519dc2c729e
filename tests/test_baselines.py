"""RNN and VRNN: the fast models match per-step oracles in values and gradients."""

import numpy as np
import pytest
import tensorflow as tf

from srnn_tf.testing import oracle
from srnn_tf.models import RNN, VRNN, standardize_features


def _features(batch=3, steps=6, seed=0):
  x = (np.random.default_rng(seed).random((batch, steps, 88)) < 0.1).astype(np.float32)
  return {k: v.numpy() for k, v in standardize_features(x).items()}


def _randomize_biases(model):
  rng = np.random.default_rng(1)
  for v in model.trainable_variables:
    if 'bias' in v.path:
      v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32))


@pytest.mark.parametrize('emission', ['bernoulli', 'nade'])
def test_vrnn_matches_per_step_oracle(emission):
  model = VRNN(z_dim=4, d_dim=7, hidden_units=9, embed_units=(8, 6), seed=0,
               emission=emission, nade_units=5)
  model.build()
  _randomize_biases(model)
  f = _features()
  noise = np.random.default_rng(2).normal(size=(3, 6, 4)).astype(np.float32)
  with tf.GradientTape(persistent=True) as tape:
    fast = model.compute_terms(f, noise=noise)
    fast_elbo = tf.reduce_sum(fast['log_px'] - fast['kl'])
    log_px, kl = oracle.vrnn_terms(model, f['x'], f['mask'], noise, xp=oracle.TF)
    slow_elbo = tf.reduce_sum(log_px - kl)
  np.testing.assert_allclose(fast['log_px'].numpy(), log_px.numpy(), atol=1e-4)
  np.testing.assert_allclose(fast['kl'].numpy(), kl.numpy(), atol=1e-4)
  # And in float64 numpy, from the weights alone.
  np_log_px, np_kl = oracle.vrnn_terms(model, f['x'], f['mask'], noise, xp=oracle.NUMPY)
  np.testing.assert_allclose(fast['log_px'].numpy(), np_log_px, rtol=1e-5, atol=1e-4)
  for v, g1, g2 in zip(model.trainable_variables,
                       tape.gradient(fast_elbo, model.trainable_variables),
                       tape.gradient(slow_elbo, model.trainable_variables)):
    assert g1 is not None and g2 is not None, v.path
    np.testing.assert_allclose(g1.numpy(), g2.numpy(), atol=1e-4, rtol=1e-3, err_msg=v.path)


@pytest.mark.parametrize('emission', ['bernoulli', 'nade'])
def test_rnn_log_likelihood_is_exact_and_matches_oracle(emission):
  model = RNN(d_dim=7, hidden_units=9, embed_units=(8,), seed=0, emission=emission,
              nade_units=5)
  model.build()
  _randomize_biases(model)
  f = _features()
  with tf.GradientTape(persistent=True) as tape:
    terms = model.compute_terms(f)
    slow = oracle.rnn_log_px(model, f['x'], f['u'], xp=oracle.TF)
    fast_total, slow_total = tf.reduce_sum(terms['log_px']), tf.reduce_sum(slow)
  np.testing.assert_array_equal(terms['kl'].numpy(), 0.0)
  np.testing.assert_allclose(terms['log_px'].numpy(),
                             oracle.rnn_log_px(model, f['x'], f['u']), rtol=1e-5, atol=1e-4)
  for v, g1, g2 in zip(model.trainable_variables,
                       tape.gradient(fast_total, model.trainable_variables),
                       tape.gradient(slow_total, model.trainable_variables)):
    assert g1 is not None and g2 is not None, v.path
    np.testing.assert_allclose(g1.numpy(), g2.numpy(), atol=1e-4, rtol=1e-3, err_msg=v.path)
  # Deterministic: two evaluations agree exactly (no sampling anywhere).
  np.testing.assert_array_equal(model(f)['elbo'].numpy(), model(f)['elbo'].numpy())


def _plain_and_dropped(model_class, option, **sizes):
  """Two small models with the same weights, the second with `option` at 0.5."""
  kwargs = dict(hidden_units=9, embed_units=(8,), emission='bernoulli', seed=0, **sizes)
  plain, dropped = model_class(**kwargs), model_class(**{option: 0.5}, **kwargs)
  for m in (plain, dropped):
    m.build()
  dropped.set_weights(plain.get_weights())
  return plain, dropped


@pytest.mark.parametrize('option', ['dropout_d', 'dropout_emb_u'])
def test_rnn_dropout_acts_in_training_only_and_where_it_says(option):
  plain, dropped = _plain_and_dropped(RNN, option, d_dim=7)
  f = _features()
  np.testing.assert_array_equal(dropped.compute_terms(f)['log_px'].numpy(),
                                plain.compute_terms(f)['log_px'].numpy())
  train, ref = dropped.compute_terms(f, training=True), plain.compute_terms(f)
  assert not np.allclose(train['log_px'].numpy(), ref['log_px'].numpy())
  # Dropout on d_t is on the emission's input only: the carried state is the undropped d_T;
  # dropout on e(u_t) reaches the recurrence.
  d_changed = not np.allclose(train['final_state'][0].numpy(), ref['final_state'][0].numpy())
  assert d_changed == (option == 'dropout_emb_u')
  with pytest.raises(ValueError, match='dropout_d'):
    RNN(dropout_d=1.0)


@pytest.mark.parametrize('option', ['dropout_d', 'dropout_emb_u'])
def test_vrnn_dropout_acts_in_training_only_and_where_it_says(option):
  plain, dropped = _plain_and_dropped(VRNN, option, z_dim=4, d_dim=7)
  f = _features()
  noise = np.random.default_rng(2).normal(size=(3, 6, 4)).astype(np.float32)
  h_0 = (tf.constant(np.random.default_rng(3).normal(size=(3, 7)).astype(np.float32)),)
  terms = lambda m, training: m.compute_terms(f, training=training, initial_state=h_0,
                                              noise=noise)
  for key in ('log_px', 'kl'):
    np.testing.assert_array_equal(terms(dropped, False)[key].numpy(),
                                  terms(plain, False)[key].numpy())
  train, ref = terms(dropped, True), terms(plain, True)
  # Dropout on h_{t-1} reaches the first step's prior, q and emission (h_0 is not zero);
  # dropout on phi_x(x_t) enters the GRU, so the first step is untouched and the later ones
  # are not.
  first_changed = not np.allclose(train['kl'][:, 0].numpy(), ref['kl'][:, 0].numpy())
  assert first_changed == (option == 'dropout_d')
  assert not np.allclose(train['kl'][:, 1:].numpy(), ref['kl'][:, 1:].numpy())
  with pytest.raises(ValueError, match='dropout_d'):
    VRNN(dropout_d=1.0)


@pytest.mark.parametrize('name', ['rnn', 'vrnn', 'srnn', 'vrnn_nade', 'dmm'])
def test_a_model_reads_its_input_frames_as_it_declares(name):
  """`reads_inputs`: the VRNN's terms are the same whatever `u` holds (its state before
  `x_1` is `h_0 = 0`), so the release's first input frames cannot change its numbers; the RNN
  and the SRNN read `u_1` (the control)."""
  from srnn_tf.testing import tiny
  model = tiny.model(name, seed=0)
  model.build()
  f = _features()
  first = dict(f, u=f['u'].copy())
  first['u'][:, 0] = f['x'][:, 0]                         # u_1 = x_1, as in the release's JSB
  noise = np.random.default_rng(2).normal(size=(3, 6, 3)).astype(np.float32)
  plain, other = (model.compute_terms(g, noise=noise if model.latent_size() else None)
                  for g in (f, first))
  same = all(np.array_equal(plain[k].numpy(), other[k].numpy()) for k in ('log_px', 'kl'))
  assert same == (not model.reads_inputs)
