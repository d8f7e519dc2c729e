"""RL tuning: the policy's log-probability, the policy-gradient estimator, KL control, rewards."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf.testing import tiny
from srnn_tf.rl import policy, rewards, tuning

tfd = tfp.distributions


def small_srnn(seed=0, **kwargs):
  keras.utils.set_random_seed(seed)
  m = tiny.model('srnn', **kwargs)
  m.build()
  return m


@pytest.mark.parametrize('emission', ['bernoulli', 'nade'])
def test_trajectory_log_prob_is_the_sum_of_per_step_log_probs(emission):
  model = small_srnn(emission=emission, nade_units=5)
  x, z = policy.sample_trajectories(model, 10, 4, seed=(3, 4))
  fast = policy.trajectory_log_prob(model, x, z).numpy()
  # Independently: step by step, with TFP distributions built here.
  d = tf.zeros([4, 8])
  z_prev, x_prev = tf.zeros([4, 3]), tf.zeros([4, 88])
  for t in range(10):
    d = model.gru_d.step(model.gru_d.project(model.embed(x_prev)), d)
    mean, log_var = model.transition.prior(d, z_prev)
    prior = tfd.Normal(mean, tf.sqrt(tf.exp(log_var) + 1e-6))
    params = model.emission(tf.concat([d, z[:, t]], -1))
    if emission == 'bernoulli':
      log_px = tf.reduce_sum(tfd.Bernoulli(logits=params).log_prob(x[:, t]), -1)
    else:   # the NADE key by key: each key's Bernoulli given the sampled lower keys
      a, log_px = params[:, 88:], 0.0
      w, v = model.frame.input_weights, model.frame.output_weights
      for k in range(88):
        logit = params[:, k] + tf.reduce_sum(tf.sigmoid(a) * v[k], -1)
        log_px += tfd.Bernoulli(logits=logit).log_prob(x[:, t, k])
        a += x[:, t, k:k + 1] * w[:, k]
    expected = tf.reduce_sum(prior.log_prob(z[:, t]), -1) + log_px
    np.testing.assert_allclose(fast[:, t], expected.numpy(), rtol=1e-5, atol=1e-4)
    z_prev, x_prev = z[:, t], x[:, t]
  assert set(np.unique(x.numpy())) <= {0.0, 1.0}


def _vrnn_step(model, state, x_t, z_t):
  h_prev, = state
  log_p = (model.prior(h_prev).log_prob(z_t) + model.decoder(z_t, h_prev).log_prob(x_t))
  h = model.gru_h.step(model.gru_h.project(tf.concat([model.phi_x(x_t), model.phi_z(z_t)], -1)),
                       h_prev)
  return (h,), log_p


def _dmm_step(model, state, x_t, z_t):
  """DMM-Aug. (the tiny model): the gated transition from its formula."""
  z_prev, x_prev = state
  g, c = model.transition, tf.concat([z_prev, x_prev], -1)
  dense = lambda layer, v: v @ layer.kernel + layer.bias
  gate = tf.sigmoid(dense(g.gate, tf.nn.relu(dense(g.gate_hidden, c))))
  h = dense(g.proposal, tf.nn.relu(dense(g.proposal_hidden, c)))
  mean = (1 - gate) * dense(g.linear_mean, z_prev) + gate * h
  scale = tf.nn.softplus(dense(g.scale, tf.nn.relu(h)))
  log_p = (tf.reduce_sum(tfd.Normal(mean, tf.sqrt(scale ** 2 + 1e-6)).log_prob(z_t), -1)
           + model.frame.distribution(model.emission(tf.concat([z_t, x_prev], -1)))
           .log_prob(x_t))
  return (z_t, x_t), log_p


def _storn_step(model, state, x_t, z_t):
  d_prev, x_prev = state
  d = model.gru_d.step(model.gru_d.project(tf.concat([model.embed(x_prev), z_t], -1)), d_prev)
  log_p = (tf.reduce_sum(tfd.Normal(0.0, 1.0).log_prob(z_t), -1)
           + model.frame.distribution(model.emission(d)).log_prob(x_t))
  return (d, x_t), log_p


@pytest.mark.parametrize('name,step', [('vrnn', _vrnn_step), ('dmm', _dmm_step),
                                       ('storn', _storn_step)])
def test_every_latent_model_is_a_policy_with_its_exact_log_prob(name, step):
  """The other latent models' `joint_log_prob` of their own samples against their generative
  model step by step (the SRNN's above); one tuning iteration runs and moves only what log pi
  depends on."""
  keras.utils.set_random_seed(0)
  model = tiny.model(name, seed=0)
  model.build()
  x, z = policy.sample_trajectories(model, 6, 3, seed=(3, 4))
  fast = policy.trajectory_log_prob(model, x, z).numpy()
  state = {'vrnn': (tf.zeros([3, 8]),), 'dmm': (tf.zeros([3, 3]), tf.zeros([3, 88])),
           'storn': (tf.zeros([3, 8]), tf.zeros([3, 88]))}[name]
  for t in range(6):
    state, expected = step(model, state, x[:, t], z[:, t])
    np.testing.assert_allclose(fast[:, t], expected.numpy(), rtol=1e-5, atol=1e-4)
  pretrained = tiny.model(name, seed=0)
  pretrained.build()
  pretrained.set_weights(model.get_weights())
  reward = rewards.MusicReward(rewards.scale(0), (1, 3), {'in_key': 1.0, 'polyphony': 1.0})
  tuner = tuning.Tuner(model, pretrained, reward, tuning.TuneConfig(batch_size=4, num_steps=5))
  before = [v.numpy() for v in model.trainable_variables]
  assert np.isfinite(tuner.iteration(0)['loss'])
  moved = {v.path for v, b in zip(model.trainable_variables, before)
           if not np.array_equal(v.numpy(), b)}
  assert moved and moved <= {v.path for v in tuner.variables}


def test_policy_gradient_is_unbiased_on_a_toy_problem():
  # Policy: T independent frames of K Bernoulli keys with logits theta; reward c . x_t per
  # frame. E[sum_t r_t] = T c . sigmoid(theta), so the gradient is T c sigmoid'(theta).
  k, steps, batch, repeats = 5, 3, 2000, 40
  theta = tf.Variable(np.linspace(-1.0, 1.0, k), dtype=tf.float32)
  c = tf.constant([1.0, -2.0, 0.5, 3.0, 0.0])
  estimates = []
  for r in range(repeats):
    x = tf.cast(tf.random.stateless_uniform([batch, steps, k], seed=[r, 0])
                < tf.sigmoid(theta), tf.float32)
    reward = tf.reduce_sum(x * c, -1)                          # [B, T]
    with tf.GradientTape() as tape:
      log_probs = tf.reduce_sum(tfd.Bernoulli(logits=theta).log_prob(x), -1)
      returns = policy.rewards_to_go(reward)
      loss = policy.surrogate_loss(log_probs, returns - 0.7)   # any constant baseline
    estimates.append(-tape.gradient(loss, theta).numpy())
  estimates = np.array(estimates)
  s = tf.sigmoid(theta).numpy()
  exact = steps * c.numpy() * s * (1 - s)
  se = estimates.std(0, ddof=1) / np.sqrt(repeats)
  assert np.all(np.abs(estimates.mean(0) - exact) < 4 * se + 1e-6), (estimates.mean(0), exact)


def _kl_after_tuning(beta, iterations=24):
  model, pretrained = small_srnn(), small_srnn()
  reward = rewards.MusicReward(rewards.scale(0), (1, 3), {'in_key': 1.0, 'polyphony': 1.0})
  config = tuning.TuneConfig(beta=beta, iterations=iterations, batch_size=16, num_steps=12,
                             learning_rate=3e-3)
  tuner = tuning.Tuner(model, pretrained, reward, config)
  for i in range(iterations):
    tuner.iteration(i)
  x, z = policy.sample_trajectories(model, 12, 256, seed=(99, 0))
  kl = policy.trajectory_log_prob(model, x, z) - policy.trajectory_log_prob(pretrained, x, z)
  return float(tf.reduce_mean(tf.reduce_sum(kl, 1)))


def test_large_beta_keeps_the_tuned_model_at_the_pretrained_one():
  free, controlled = _kl_after_tuning(0.0), _kl_after_tuning(100.0)
  assert free > 1.0                       # the reward alone moves the policy away (1.7 seen)
  assert controlled < 0.25 * free, (controlled, free)


def test_tuner_refuses_a_model_without_a_latent_prior():
  rnn = tiny.model('rnn')
  rnn.build()
  with pytest.raises(ValueError, match='latent model.*not a RNN'):
    tuning.Tuner(rnn, rnn, None, tuning.TuneConfig())


def roll_of(frames):
  roll = np.zeros((len(frames), 88), np.uint8)
  for t, notes in enumerate(frames):
    roll[t, [n - 21 for n in notes]] = 1
  return roll


def test_in_key():
  c_major = rewards.scale(0)
  roll = roll_of([{60, 64, 67}, {66}, {60, 61}, set()])
  np.testing.assert_allclose(rewards.in_key(roll, c_major), [1.0, -1.0, 0.0, 0.0])


def test_consonance():
  roll = roll_of([{60, 64, 67}, {60, 61}, {60, 66, 72}, {60}])
  # C-E-G: all consonant; C-C#: a second; C-F#-C: tritone, tritone, octave -> (1 - 2) / 3.
  np.testing.assert_allclose(rewards.consonance(roll), [1.0, -1.0, -1 / 3, 0.0])


def test_repetition_penalises_frames_held_too_long():
  roll = roll_of([{60}] * 11 + [{62}])
  values = rewards.repetition(roll, max_repeat=8)
  np.testing.assert_array_equal(values, [0] * 8 + [-1, -1, -1] + [0])


def test_polyphony_range():
  roll = roll_of([set(), {60}, {60, 64, 67, 72}, set(range(60, 66))])
  np.testing.assert_array_equal(rewards.polyphony(roll, 1, 4), [-1, 0, 0, -1])


def test_parallel_fifths_and_octaves_in_the_outer_voices():
  roll = roll_of([{48, 55}, {50, 57},          # C-G to D-A, both up: parallel fifths
                  {50, 62}, {48, 60},          # into an octave, both down: parallel octaves
                  {48, 64}, {50, 62}])         # contrary motion
  np.testing.assert_array_equal(rewards.parallel_motion(roll), [0, -1, 0, -1, 0, 0])


def test_estimate_key_and_weighted_total():
  g_major = np.zeros(12)
  g_major[[7, 9, 11, 0, 2, 4, 6]] = [5, 2, 3, 2, 4, 2, 3]
  name, classes = rewards.estimate_key(g_major)
  assert name == 'G major' and 6 in classes and 5 not in classes
  reward = rewards.MusicReward(rewards.scale(0), (1, 4), {'in_key': 2.0, 'consonance': 0.5})
  total, terms = reward([roll_of([{60, 64, 67}, {60, 61}])])
  np.testing.assert_allclose(total[0], [2.0 * 1 + 0.5 * 1, 2.0 * 0 + 0.5 * -1])
  assert set(terms) == set(rewards.REWARDS)


def test_every_reward_has_a_weight_flag():
  assert tuple(tuning.TuneConfig().weights) == rewards.REWARDS
