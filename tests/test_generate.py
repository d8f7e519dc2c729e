"""Generation and reconstruction verbs of every model: seeded, binary, primed, consistent."""

import keras
import numpy as np
import pytest

from srnn_tf.data import midi
from srnn_tf.models import standardize_features
from srnn_tf.testing import tiny

@pytest.fixture(params=tiny.NAMES)
def model(request):
  keras.utils.set_random_seed(0)
  m = tiny.model(request.param)
  m.build()
  return m


def _roll(steps=12, seed=0):
  return (np.random.default_rng(seed).random((1, steps, 88)) < 0.1).astype(np.float32)


def test_same_seed_same_piece_other_seed_other_piece(model):
  a = model.generate(40, 2, seed=(3, 4)).numpy()
  b = model.generate(40, 2, seed=(3, 4)).numpy()
  c = model.generate(40, 2, seed=(3, 5)).numpy()
  assert a.shape == (2, 40, 88)
  assert set(np.unique(a)) <= {0.0, 1.0}
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  # Temperature 1 is the model itself; another one changes the pieces.
  np.testing.assert_array_equal(a, model.generate(40, 2, seed=(3, 4), temperature=1.0))
  assert not np.array_equal(a, model.generate(40, 2, seed=(3, 4), temperature=0.5))


@pytest.mark.parametrize('temperature', [0.5, 2.0])
def test_tempered_first_frames_follow_the_tempered_key_probabilities(temperature):
  """The RNN's first frame (from silence) has fixed key probabilities `p`: sampled at
  temperature T, each key sounds with probability sigmoid(logit(p) / T)."""
  model = tiny.model('rnn')
  model.build()
  rng = np.random.default_rng(0)
  for weight in model.weights:   # biases too: a new model's first-frame logits are all 0
    weight.assign(rng.normal(0, 0.5, weight.shape))
  p = model.reconstruct(np.zeros((1, 1, 88), np.float32)).numpy()[0, 0].astype(np.float64)
  expected = 1 / (1 + np.exp(-np.log(p / (1 - p)) / temperature))
  pieces = 20_000
  frequency = model.generate(1, pieces, seed=(5, 6), temperature=temperature).numpy()[:, 0]
  std = np.sqrt(expected * (1 - expected) / pieces)
  assert np.all(np.abs(frequency.mean(0) - expected) < 5 * std)
  # The test can tell: untempered probabilities are far off for some keys.
  assert np.max(np.abs(p - expected) / std) > 20


def test_nearby_seeds_draw_from_unrelated_streams(monkeypatch):
  """A serving client asking for pieces with seeds (0, 0), (0, 1), ... (and RL tuning, whose
  step i samples with (s, i)) must get independent pieces: no seed that one call hands to a
  random op may be one that another call hands to any. Offsets (`seed + [0, k]`) fail this:
  (0, 1)'s z noise came from (0, 0)'s uniforms' seed."""
  import tensorflow as tf
  from srnn_tf.rl import policy
  srnn = tiny.model('srnn')
  srnn.build()
  used = []
  for op in ('stateless_normal', 'stateless_uniform'):
    draw = getattr(tf.random, op)
    monkeypatch.setattr(tf.random, op, lambda *a, draw=draw, seed, **k: (
        used.append(tuple(np.asarray(seed))), draw(*a, seed=seed, **k))[1])
  tf.config.run_functions_eagerly(True)   # the seeds as numbers, not symbols
  try:
    for sample in (srnn.generate, lambda *a, **k: policy.sample_trajectories(srnn, *a, **k)):
      used.clear()
      for i in range(4):
        sample(5, 1, seed=(0, i))
      assert len(used) == 4 * 2 and len(set(used)) == len(used)
  finally:
    tf.config.run_functions_eagerly(False)


def test_generated_roll_survives_midi(model, tmp_path):
  roll = model.generate(30, 1, seed=(0, 1)).numpy()[0].astype(np.uint8)
  roll[-1, 40] = 1   # a note in the last frame, so the MIDI file spans the whole roll
  path = tmp_path / 'sample.mid'
  midi.write_midi(roll, path)
  np.testing.assert_array_equal(midi.read_midi(path).roll, roll)


def test_primer_sets_the_state_the_continuation_starts_from(model):
  import tensorflow as tf
  seed = tf.constant([0, 1])
  states = [tf.nest.flatten(model.generation_state(standardize_features(_roll(seed=i)), 1, seed))
            for i in (1, 2)]
  silent = tf.nest.flatten(model.generation_state(None, 1, seed))
  assert any(not np.allclose(a, b) for a, b in zip(*states))
  assert any(not np.allclose(a, b) for a, b in zip(states[0], silent))
  assert model.generate(20, seed=(1, 1), prime=_roll(seed=1)).shape == (1, 20, 88)


def test_reconstruction_is_a_probability_roll(model):
  x = _roll(30)
  p = model.reconstruct(x).numpy()
  assert p.shape == x.shape and np.all((p > 0) & (p < 1))
  np.testing.assert_array_equal(p, model.reconstruct(x).numpy())   # deterministic


@pytest.mark.parametrize('kwargs,message', [
    (dict(temperature=-1.0), 'temperature=-1.0: must be a finite number above 0'),
    (dict(temperature=0.0), 'temperature=0.0'),
    (dict(temperature=float('nan')), 'temperature=nan'),
    (dict(num_steps=0), 'num_steps=0: must be a positive integer'),
    (dict(batch_size=-2), 'batch_size=-2'),
    (dict(seed=(1.5, 2)), 'seed=\\(1.5, 2\\): must be two integers'),
    (dict(seed=3), 'seed=3'),
    (dict(prime=np.zeros((4, 88), np.float32)), 'prime has shape \\(4, 88\\)'),
    (dict(prime=np.zeros((1, 4, 87), np.float32)), 'prime has shape \\(1, 4, 87\\)'),
    (dict(prime=np.full((1, 4, 88), 0.5, np.float32)), 'prime holds values other than 0 and 1'),
])
def test_generate_refuses_arguments_that_would_give_garbage(kwargs, message):
  """A temperature of -1 inverted the distribution (84 notes per frame), 0 or NaN gave
  silence, a rank-2 primer a graph error: each is now one ValueError naming the argument."""
  model = tiny.model('rnn')
  model.build()
  with pytest.raises(ValueError, match='^generate: ' + message):
    model.generate(**{'num_steps': 3, **kwargs})
