"""The auxiliary cost against posterior collapse (`--aux_weight`): its target against a
frame-by-frame oracle, the training loss it adds to (and nothing else), the gradient it sends
into the posterior, and the options' checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from srnn_tf import configs
from srnn_tf.errors import UserError
from srnn_tf.keyboard import LOWEST_NOTE
from srnn_tf.models import standardize_features
from srnn_tf.note_features import future_pitch_classes
from srnn_tf.testing import tiny

LATENT = ('srnn', 'vrnn', 'dmm', 'storn', 'srnn_balstm', 'srnn_tp_lstm_nade')


def _rolls(batch=3, steps=9, seed=0, keys=88):
  rng = np.random.default_rng(seed)
  x = (rng.random((batch, steps, keys)) < 0.05).astype(np.float32)
  mask = np.ones((batch, steps), np.float32)
  mask[1, 6:] = 0          # a shorter piece, its padding silent
  mask[2, 2:] = 0
  x *= mask[..., None]
  return x, mask


@pytest.mark.parametrize('frames', [1, 3, 20])
def test_future_pitch_classes_match_a_frame_by_frame_oracle(frames):
  x, mask = _rolls()
  targets, valid = (v.numpy() for v in future_pitch_classes(x, mask, frames))
  for b in range(x.shape[0]):
    for t in range(x.shape[1]):
      ahead = [s for s in range(t + 1, min(t + 1 + frames, x.shape[1])) if mask[b, s]]
      assert valid[b, t] == float(bool(mask[b, t] and ahead)), (b, t)
      expected = np.zeros(12)
      for s in ahead:
        classes = {(k + LOWEST_NOTE) % 12 for k in np.flatnonzero(x[b, s])}
        expected[list(classes)] += 1.0 / len(ahead)
      np.testing.assert_allclose(targets[b, t], expected, atol=1e-6, err_msg=str((b, t)))


def _pair(name, weight, **kwargs):
  """The same tiny model without and with the auxiliary cost, same weights but the head's."""
  keys = 10 if 'balstm' in name or 'tp_lstm' in name else 88
  plain = tiny.model(name, seed=0, **({'num_keys': keys} if keys != 88 else {}), **kwargs)
  aux = tiny.model(name, seed=0, aux_weight=weight, **({'num_keys': keys} if keys != 88 else {}),
                   **kwargs)
  for model in (plain, aux):
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.build()
  head = {id(v) for v in aux.aux_head.weights}
  for source, target in zip(plain.weights, [v for v in aux.weights if id(v) not in head]):
    target.assign(source)
  return plain, aux, keys


@pytest.mark.parametrize('name', LATENT)
def test_the_aux_cost_adds_to_the_training_loss_only(name):
  plain, aux, keys = _pair(name, 0.7)
  x, mask = _rolls(keys=keys)
  features = standardize_features({'x': x, 'mask': mask})
  noise = tf.random.stateless_normal([*x.shape[:2], plain.latent_size()], seed=[1, 2])
  terms = aux.compute_terms(features, training=False, noise=noise)
  assert terms['z'].shape == (*x.shape[:2], plain.latent_size())
  # Training: the plain loss plus the weight times the cost per frame, the ELBO terms alike.
  plain._training_noise = aux._training_noise = lambda features: noise
  loss, log_px, kl, frames, terms = aux._objective(features, True, 1.0)
  plain_loss, plain_log_px, plain_kl, _, _ = plain._objective(features, True, 1.0)
  cost = aux.aux_cost(terms['z'], features)
  assert float(cost) > 0
  np.testing.assert_allclose(float(loss), float(plain_loss) + 0.7 * float(cost) / float(frames),
                             rtol=1e-5)
  np.testing.assert_allclose([float(log_px), float(kl)], [float(plain_log_px), float(plain_kl)],
                             rtol=1e-5)
  # Evaluation: the model's own ELBO, the head unread.
  scores = [model.score({'x': x, 'mask': mask}, seed=(3, 4)) for model in (aux, plain)]
  for key in ('elbo', 'log_px', 'kl'):
    np.testing.assert_allclose(scores[0][key].numpy(), scores[1][key].numpy(), rtol=1e-5)


@pytest.mark.parametrize('name', ['srnn', 'dmm'])
def test_the_aux_cost_trains_the_posterior_not_the_emission(name):
  """Its gradient reaches the head and, through the sample z, the inference network; the
  emission, which reads z but not the cost, gets none from it."""
  _, model, keys = _pair(name, 1.0)
  x, mask = _rolls(keys=keys)
  features = standardize_features({'x': x, 'mask': mask})
  with tf.GradientTape() as tape:
    cost = model.aux_cost(model.compute_terms(features, training=True)['z'], features)
  grads = dict(zip((v.path for v in model.trainable_variables),
                   tape.gradient(cost, model.trainable_variables)))
  moved = {path for path, g in grads.items() if g is not None and float(tf.norm(g)) > 0}
  assert any('aux_head' in path for path in moved)
  assert any('aux_head' not in path for path in moved)            # the posterior's weights
  assert not any('emission' in path for path in moved), sorted(moved)


def test_a_training_step_logs_the_cost():
  _, model, _ = _pair('srnn', 0.5)
  x, mask = _rolls()
  logs = model.train_on_batch({'x': x, 'mask': mask}, return_dict=True)
  assert logs['aux'] > 0 and np.isfinite(logs['loss'])


def test_the_options_are_checked():
  with pytest.raises(ValueError, match='RNN: aux_weight=0.5: the model has no latent'):
    tiny.model('rnn', aux_weight=0.5)
  with pytest.raises(ValueError, match='aux_weight applies to the ELBO'):
    tiny.model('srnn', aux_weight=0.5, objective='iwae', num_particles=2)
  with pytest.raises(UserError, match='--aux_weight: --model=rnn has no latent variables'):
    configs.get_config('paper', model='rnn', aux_weight=0.5)
  with pytest.raises(UserError, match='--aux_frames=0: must be at least 1'):
    configs.get_config('paper', aux_frames=0)
  assert configs.run_name(configs.get_config('paper', aux_weight=0.5)) == \
      'jsb_boulanger_srnn_aux0.5_z100_d300'
  assert configs.run_name(configs.get_config('paper', aux_weight=1, aux_frames=8)).endswith(
      '_aux1f8_z100_d300')
