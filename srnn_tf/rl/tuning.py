"""KL-controlled REINFORCE tuning of a trained latent model: the tuner (one policy-gradient
step), the comparison of the tuned and the pre-trained model, and what a tuning writes; the
run around them is `tuning_run`."""

import os

import keras
import numpy as np
import tensorflow as tf

from srnn_tf import (bounds, compiled, configs, export, files, keyboard, music_stats, plots,
                     rundir)
from srnn_tf.data import midi
from srnn_tf.configs import TuneConfig
from srnn_tf.models import LatentModel
from srnn_tf.rl import policy, rewards as rewards_lib
from srnn_tf.callbacks import NonFiniteLossError


class Tuner:
  """Holds the policy (a copy of the pre-trained latent model being tuned), the frozen pre-trained
  model, the optimiser and the running baseline; `iteration(i)` does one policy-gradient step.
  """

  def __init__(self, policy_model, pretrained, reward: rewards_lib.MusicReward,
               config: TuneConfig):
    if not isinstance(policy_model, LatentModel):
      raise ValueError(f'RL tuning needs a latent model (SRNN, VRNN, DMM, STORN), not a '
                       f'{type(policy_model).__name__}: its generative model\'s z and x steps '
                       'are the policy')
    self.model, self.pretrained, self.reward, self.config = (policy_model, pretrained, reward,
                                                             config)
    self.optimizer = keras.optimizers.Adam(config.learning_rate)
    self.variables = self._generative_variables()
    self.optimizer.build(self.variables)
    self.baseline = tf.Variable(tf.zeros([config.num_steps]), trainable=False)
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False)

  def _generative_variables(self):
    """The variables log pi depends on (the inference network's do not)."""
    x = tf.zeros([1, 2, keyboard.NUM_KEYS])
    z = tf.zeros([1, 2, self.model.z_dim])
    with tf.GradientTape() as tape:
      log_p = tf.reduce_sum(policy.trajectory_log_prob(self.model, x, z))
    grads = tape.gradient(log_p, self.model.trainable_variables)
    return [v for v, g in zip(self.model.trainable_variables, grads) if g is not None]

  @compiled.function
  def _sample(self, seed):
    return policy.sample_trajectories(self.model, self.config.num_steps,
                                      self.config.batch_size, seed)

  @compiled.function
  def _pretrained_log_prob(self, x, z):
    return policy.trajectory_log_prob(self.pretrained, x, z)

  @tf.function
  def _update(self, x, z, reward, log_prob_0):
    beta = self.config.beta
    with tf.GradientTape() as tape:
      log_prob = policy.trajectory_log_prob(self.model, x, z)
      kl = tf.stop_gradient(log_prob) - log_prob_0           # per-step KL sample
      returns = policy.rewards_to_go(reward - beta * kl)
      loss = policy.surrogate_loss(log_prob, returns - self.baseline)
    grads = tape.gradient(loss, self.variables)
    grads, norm = tf.clip_by_global_norm(grads, self.config.clip_norm)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
    if finite:
      self.optimizer.apply_gradients(zip(grads, self.variables))
      decay = self.config.baseline_decay
      self.baseline.assign(decay * self.baseline + (1 - decay) * tf.reduce_mean(returns, 0))
      self.step.assign_add(1)
    return {'loss': loss, 'finite': finite, 'grad_norm': norm,
            'kl': tf.reduce_mean(tf.reduce_sum(kl, 1)) / self.config.num_steps}

  def iteration(self, i: int) -> dict:
    """One policy-gradient step; returns per-frame means of the reward and each term, and
    the KL estimate per frame."""
    x, z = self._sample(tf.constant([self.config.seed, i]))
    total, terms = self.reward(x.numpy())
    out = self._update(x, z, tf.constant(total, tf.float32), self._pretrained_log_prob(x, z))
    if not bool(out['finite']):
      raise NonFiniteLossError(f'iteration {i}: non-finite policy-gradient loss or gradient; '
                               'the last checkpoint is untouched')
    return {'reward': float(total.mean()), 'kl': float(out['kl']),
            'loss': float(out['loss']), 'grad_norm': float(out['grad_norm']),
            **{f'reward_{k}': float(v.mean()) for k, v in terms.items()}}


def evaluate_samples(model, reward, num_pieces, num_steps, seed):
  """Per-piece mean reward (total and per term) of samples: {name: (mean, 95% half-width)},
  plus the rolls."""
  x, _ = compiled.function(policy.sample_trajectories)(model, num_steps, num_pieces,
                                                 tf.constant([seed, 10 ** 6]))
  rolls = x.numpy()
  total, terms = reward(rolls)
  per_piece = {'reward': total.mean(1), **{k: v.mean(1) for k, v in terms.items()}}
  summary = {k: (float(v.mean()), float(1.96 * v.std(ddof=1) / np.sqrt(len(v))))
             for k, v in per_piece.items()}
  return summary, rolls, per_piece


def compare(pretrained, tuned, reward, corpus, num_pieces=200, num_steps=64, seed=0):
  """Pre-trained vs tuned: rewards (with 95% intervals and the paired difference), test ELBO
  per step, sample statistics against the test split. Returns (dict, rolls by model)."""
  held_out = music_stats.roll_stats(corpus.splits['test'])
  result, rolls = {}, {}
  per_piece = {}
  for name, model in (('pretrained', pretrained), ('tuned', tuned)):
    rewards, rolls[name], per_piece[name] = evaluate_samples(model, reward, num_pieces,
                                                             num_steps, seed)
    stats = music_stats.roll_stats(list(rolls[name]))
    elbo = bounds.evaluate_elbo(model, corpus.splits['test'])
    result[name] = {'rewards': rewards, 'test_elbo_per_step': elbo['elbo_per_step'],
                    'sample_stats': stats.summary(),
                    'distance_to_test_split': music_stats.compare(stats, held_out)}
  gain = per_piece['tuned']['reward'] - per_piece['pretrained']['reward']
  result['reward_gain'] = (float(gain.mean()),
                           float(1.96 * np.sqrt(per_piece['tuned']['reward'].var(ddof=1) / len(gain)
                                                + per_piece['pretrained']['reward'].var(ddof=1)
                                                / len(gain))))
  result['elbo_drop'] = (result['pretrained']['test_elbo_per_step']
                         - result['tuned']['test_elbo_per_step'])
  return result, rolls


def comparison_markdown(result, title):
  lines = [f'# {title}', '', 'Rewards: per-frame means over sampled pieces (95% intervals over '
           'pieces); test ELBO per step on the test split; TV: total-variation distance of the '
           'samples\' histograms from the test split\'s.', '',
           '| | pre-trained | tuned |', '|---|---|---|']
  names = ['reward'] + list(rewards_lib.REWARDS)
  for n in names:
    cells = [f'{result[m]["rewards"][n][0]:+.3f} ± {result[m]["rewards"][n][1]:.3f}'
             for m in ('pretrained', 'tuned')]
    lines.append(f'| {"total reward" if n == "reward" else n} | {cells[0]} | {cells[1]} |')
  lines.append(f'| test ELBO per step | {result["pretrained"]["test_elbo_per_step"]:.3f} | '
               f'{result["tuned"]["test_elbo_per_step"]:.3f} |')
  for k in ('notes_per_frame', 'mean_pitch', 'mean_duration', 'repetition'):
    lines.append(f'| samples: {k} | {result["pretrained"]["sample_stats"][k]:.2f} | '
                 f'{result["tuned"]["sample_stats"][k]:.2f} |')
  for k in ('tv_polyphony', 'tv_pitch', 'tv_pitch_class', 'tv_duration'):
    lines.append(f'| {k} | {result["pretrained"]["distance_to_test_split"][k]:.3f} | '
                 f'{result["tuned"]["distance_to_test_split"][k]:.3f} |')
  gain, half = result['reward_gain']
  lines += ['', f'Reward gain {gain:+.3f} ± {half:.3f} per frame (95%); test ELBO drop '
            f'{result["elbo_drop"]:.3f} nats per step.', '']
  return '\n'.join(lines)


def write_examples(rolls, out_dir, grid, count=3):
  """`count` pieces of each model's samples (`rolls`: {name: [N, T, 88]}) as MIDI files on
  the corpus's `grid` (`data.grid.Grid`: its frames per quarter note and tempo), and their
  piano rolls as one PNG per model."""
  os.makedirs(out_dir, exist_ok=True)
  for name, pieces in rolls.items():
    for i in range(count):
      stem = os.path.join(out_dir, f'{name}_{i}')
      with files.atomic_path(stem + '.mid') as tmp:
        midi.write_midi(pieces[i].astype(np.uint8), tmp,
                        frames_per_quarter=grid.frames_per_quarter, tempo=grid.tempo)
    with files.atomic_path(os.path.join(out_dir, f'{name}.png')) as tmp:
      plots.save_piano_rolls(tmp, list(pieces[:count]),
                             [f'{name}: sample {i}' for i in range(count)])


def save_tuned_run(model, run_config: configs.Config | None, workdir, summary,
                   saved_model=True):
  """Writes the tuned model like a training run: model.keras, saved_model/ (unless not
  `saved_model`), config.json, and run.json last."""
  export.save_keras_atomic(model, os.path.join(workdir, rundir.MODEL_KERAS))
  if saved_model:
    export.export_saved_model(model, os.path.join(workdir, rundir.SAVED_MODEL),
                              export.metadata(model, run_config))
  if run_config is not None:
    rundir.write_config(workdir, run_config)
  files.write_json(os.path.join(workdir, rundir.RUN_JSON), summary)   # written last: finished


def copy_results(workdir, results_dir, name, overwrite=False):
  copies = {os.path.join(workdir, src): dst
            for src, dst in ((rundir.RUN_JSON, f'{name}.json'),
                             (rundir.HISTORY_CSV, f'{name}.history.csv'),
                             ('tuning.md', f'{name}.md'))
            if os.path.exists(os.path.join(workdir, src))}
  rundir.copy_results(results_dir, copies, overwrite)
