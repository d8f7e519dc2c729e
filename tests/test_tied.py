"""The tied-parallel models (TP-LSTM-NADE, BALSTM): their per-key inputs, their likelihood
against a key-by-key oracle, normalisation by enumeration, sampling against the
probabilities, and transposition equivariance."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from srnn_tf import layers
from srnn_tf.models import BALSTM, TPLSTMNADE, standardize_features
from srnn_tf.note_features import NoteFeatures
from srnn_tf.testing import tied_oracle
from srnn_tf.testing import tiny

TIED = ('balstm', 'tp_lstm_nade')


def _roll(batch=2, steps=6, keys=88, density=0.1, seed=0, low=0, high=None):
  """Random 0/1 piano rolls, the keys outside [low, high) silent."""
  x = (np.random.default_rng(seed).random((batch, steps, keys)) < density).astype(np.float32)
  x[..., :low] = 0
  if high is not None:
    x[..., high:] = 0
  return x


# -- the per-key inputs --------------------------------------------------------------------------

def _features_oracle(frame, causal=False, lowest_note=21):
  """Each key's window and bins from their definition, with loops (numpy)."""
  keys = len(frame)
  rows = []
  for n in range(keys):
    offsets = range(-12, 0) if causal else range(-12, 13)
    window = [frame[n + k] if 0 <= n + k < keys else 0.0 for k in offsets]
    bins = [0.0] * 12
    for m in range(n if causal else keys):
      bins[(m - n) % 12] += frame[m]
    rows.append(window + bins)
  return np.array(rows, np.float32)


@pytest.mark.parametrize('causal', [False, True])
def test_note_features_match_their_definition(causal):
  frame = _roll(1, 1, density=0.3)[0, 0]
  got = NoteFeatures(position=False, causal=causal)(frame[None]).numpy()[0]
  np.testing.assert_array_equal(got, _features_oracle(frame, causal))
  with_position = NoteFeatures()(frame[None]).numpy()[0]
  assert with_position.shape == (88, 38)
  # The position is the standardised MIDI number, rising with the key.
  assert np.all(np.diff(with_position[:, -1]) > 0)
  np.testing.assert_allclose(with_position[[0, -1], -1], [(21 - 64.5) / 25.4,
                                                          (108 - 64.5) / 25.4], rtol=1e-6)


@pytest.mark.parametrize('causal', [False, True])
@pytest.mark.parametrize('delta', [-5, 3, 7])
def test_shifting_a_roll_shifts_every_feature_row(causal, delta):
  """A roll shifted by delta semitones (nothing falling off the keyboard) gives key n + delta
  the features key n had, for every key whose window stays on the keyboard."""
  roll = _roll(2, 4, density=0.3, low=20, high=68)
  shifted = np.roll(roll, delta, axis=-1)
  features = NoteFeatures(position=False, causal=causal)
  a, b = features(roll).numpy(), features(shifted).numpy()
  keys = [n for n in range(88) if 12 <= n <= 75 and 12 <= n + delta <= 75]
  np.testing.assert_array_equal(b[..., [n + delta for n in keys], :], a[..., keys, :])


# -- the likelihood against a key-by-key oracle ----------------------------------------------------

def _oracle_log_px(model, x):
  """The key-by-key oracle, its per-key inputs built by loops from their definition."""
  position = lambda keys: [[(n + 21 - 64.5) / 25.4] for n in range(keys)]

  def features(frames):
    rows = [np.concatenate([_features_oracle(f), position(len(f))], 1) if model.key_position
            else _features_oracle(f) for f in frames.numpy()]
    return tf.constant(np.stack(rows), tf.float32)

  def causal_features(frames):
    return tf.constant(np.stack([_features_oracle(f, causal=True) for f in frames.numpy()]),
                       tf.float32)

  return tied_oracle.log_px(model, x, features, causal_features)


@pytest.mark.parametrize('name,position', [('balstm', True), ('tp_lstm_nade', True),
                                           ('tp_lstm_nade', False)])
def test_log_likelihood_and_gradients_match_a_key_by_key_oracle(name, position):
  keras.utils.set_random_seed(1)
  model = tiny.model(name, num_keys=16, key_position=position)
  model.build()
  x = _roll(2, 4, keys=16, density=0.3, seed=2)
  variables = model.trainable_variables
  with tf.GradientTape(persistent=True) as tape:
    fast = model.compute_terms(standardize_features(x))['log_px']
    slow = _oracle_log_px(model, x)
    fast_sum, slow_sum = tf.reduce_sum(fast), tf.reduce_sum(slow)
  np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-4, atol=1e-4)
  for v, a, b in zip(variables, tape.gradient(fast_sum, variables),
                     tape.gradient(slow_sum, variables)):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4, err_msg=v.path)


# -- normalisation and sampling ---------------------------------------------------------------

def _all_frames(keys):
  return np.array(list(itertools.product([0.0, 1.0], repeat=keys)), np.float32)


@pytest.mark.parametrize('name', TIED)
def test_all_frames_sum_to_one_given_a_state(name):
  """With 10 keys, the 1,024 possible frames after a fixed history have probabilities that
  sum to 1 (the per-key conditionals are a proper autoregressive factorisation)."""
  keras.utils.set_random_seed(3)
  keys = 10
  model = tiny.model(name, num_keys=keys)
  model.build()
  history = _roll(1, 3, keys=keys, density=0.4, seed=4)
  frames = _all_frames(keys)
  rolls = np.concatenate([np.repeat(history, len(frames), 0), frames[:, None]], 1)
  log_p = model.compute_terms(standardize_features(rolls))['log_px'][:, -1]
  np.testing.assert_allclose(tf.reduce_logsumexp(log_p).numpy(), 0.0, atol=1e-5)


@pytest.mark.parametrize('name', TIED)
def test_sampled_frames_follow_their_probabilities(name):
  """Chi-square over the 8 frames of a 3-key model: the first generated frame (from silence)
  against the probabilities `compute_terms` gives the same frames."""
  keras.utils.set_random_seed(5)
  model = tiny.model(name, num_keys=3)
  model.build()
  # Biases that make the frames' probabilities uneven, so that a wrong order would show.
  frames = _all_frames(3)
  probs = np.exp(model.compute_terms(standardize_features(frames[:, None]))['log_px'][:, 0])
  samples = model.generate(1, batch_size=20000, seed=(7, 8)).numpy()[:, 0]
  counts = np.array([np.sum(np.all(samples == f, axis=1)) for f in frames])
  expected = probs * len(samples)
  chi2 = np.sum((counts - expected) ** 2 / expected)
  assert chi2 < 24.32, (chi2, counts, expected)   # chi-square, 7 degrees of freedom, p = 0.001


@pytest.mark.parametrize('name', TIED)
def test_same_seed_same_sample(name):
  keras.utils.set_random_seed(0)
  model = tiny.model(name)
  model.build()
  prime = _roll(1, 5, density=0.1)
  a = model.generate(6, seed=(1, 2), prime=prime).numpy()
  np.testing.assert_array_equal(a, model.generate(6, seed=(1, 2), prime=prime).numpy())
  assert a.shape == (1, 6, 88)


@pytest.mark.parametrize('name', TIED)
def test_reconstruction_is_each_keys_conditional(name):
  keras.utils.set_random_seed(0)
  model = tiny.model(name)
  model.build()
  x = _roll(2, 5)
  probs = model.reconstruct(x).numpy()
  log_px = model.compute_terms(standardize_features(x))['log_px'].numpy()
  np.testing.assert_allclose(np.sum(np.log(np.where(x == 1, probs, 1 - probs)), -1), log_px,
                             rtol=1e-5)


# -- transposition --------------------------------------------------------------------------

@pytest.mark.parametrize('delta', [2, -3])
def test_tp_lstm_nade_without_position_is_transposition_equivariant(delta):
  """Key n + delta of a piece shifted by delta semitones gets the conditional probability
  key n had in the original, for every key whose windows stay on the keyboard."""
  keras.utils.set_random_seed(6)
  model = tiny.model('tp_lstm_nade', key_position=False)
  model.build()
  x = _roll(2, 8, density=0.15, low=30, high=60)
  shifted = np.roll(x, delta, axis=-1)
  a, b = model.reconstruct(x).numpy(), model.reconstruct(shifted).numpy()
  keys = [n for n in range(88) if 12 <= n <= 75 and 12 <= n + delta <= 75]
  np.testing.assert_allclose(b[..., [n + delta for n in keys]], a[..., keys], atol=1e-5)


def test_projected_lstm_matches_keras_lstm_cell():
  """`recurrences.lstm` (a hand-written backward pass) against Keras's `LSTMCell` stepped and
  differentiated by TensorFlow, padding held, values and gradients."""
  rng = np.random.default_rng(0)
  steps, rows, width, units = 7, 5, 6, 4
  x = tf.constant(rng.normal(size=(steps, rows, width)), tf.float32)
  keep = tf.constant((rng.uniform(size=(steps, rows, 1)) > 0.3).astype(np.float32))
  h_0, c_0 = (tf.constant(rng.normal(size=(rows, units)), tf.float32) for _ in 'hc')
  layer = layers.ProjectedLSTM(units)
  layer.build((None, width))
  layer.bias.assign(rng.normal(size=(4 * units,)).astype(np.float32))
  cell = keras.layers.LSTMCell(units)
  cell.build((rows, width))
  for a, b in ((cell.kernel, layer.kernel), (cell.recurrent_kernel, layer.recurrent_kernel),
               (cell.bias, layer.bias)):
    a.assign(b)
  w_h, w_c = (tf.constant(rng.normal(size=(steps, rows, units)), tf.float32) for _ in 'hc')
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([x, h_0, c_0])
    hs, cs = layer(x, keep=keep, initial_state=(h_0, c_0))
    fast = tf.reduce_sum(hs * w_h) + tf.reduce_sum(cs[-1] * w_c[-1])
    h, c, slow = h_0, c_0, 0.0
    for t in range(steps):
      _, (h_new, c_new) = cell(x[t], [h, c])
      h, c = h + keep[t] * (h_new - h), c + keep[t] * (c_new - c)
      slow += tf.reduce_sum(h * w_h[t])
    slow += tf.reduce_sum(c * w_c[-1])
  np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-5)
  for a, b in zip(tape.gradient(fast, [x, h_0, c_0, layer.kernel, layer.recurrent_kernel,
                                       layer.bias]),
                  tape.gradient(slow, [x, h_0, c_0, cell.kernel, cell.recurrent_kernel,
                                       cell.bias])):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('cls', [BALSTM, TPLSTMNADE])
def test_carried_state_continues_the_sequence(cls):
  """Two halves with the state carried give the log-likelihood of the whole."""
  keras.utils.set_random_seed(0)
  model = cls(**tiny.SIZES[cls.__name__.lower().replace('tplstmnade', 'tp_lstm_nade')][1])
  model.build()
  x = _roll(2, 8)
  whole = model.compute_terms(standardize_features(x))['log_px'].numpy()
  first = model.compute_terms(standardize_features(x[:, :5]))
  second = model.compute_terms({'x': tf.constant(x[:, 5:]), 'u': tf.constant(x[:, 4:7]),
                                'mask': tf.ones([2, 3])}, initial_state=first['final_state'])
  np.testing.assert_allclose(np.concatenate([first['log_px'], second['log_px']], 1), whole,
                             rtol=1e-5, atol=1e-5)
