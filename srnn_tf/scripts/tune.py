"""Reinforcement-learning tuning of a trained latent model (SRNN, VRNN, DMM, STORN) for music
(Jaques et al. 2016, polyphonic).

    python tune.py --run=runs/jsb_srnn2016_srnn_z100_d300 --beta=2

The model's generative model (its z, then x, steps) is the policy; REINFORCE with reward-to-go and a running
baseline maximises music-theory rewards (srnn_tf/rl/rewards.py, weighted by the --w_* flags)
minus `beta` times the KL to the pre-trained model (KL control). Writes a run directory in the
training format (model.keras, saved_model/, config.json, run.json, history.csv, tensorboard/),
so generate.py, eval.py and the export work on it; checkpoints every --checkpoint_every
iterations and resumes from the last one when rerun. At the end it compares the pre-trained
and the tuned model (rewards, test ELBO, sample statistics; tuning.md) and writes example MIDI
files and piano rolls of both under <output_dir>/examples/.
"""

import csv
import dataclasses
import os

from srnn_tf import cli

from srnn_tf.rl import rewards as rewards_lib
from srnn_tf.configs import TuneConfig

_RUN = cli.run_flag('The pre-trained run of a latent model (directory or .keras).')
_OUTPUT_DIR = cli.output_dir_flag('<run>_tuned_beta<beta>')
_RESULTS_DIR = cli.results_dir_flag('run.json, history.csv and tuning.md')
_DATA_DIR = cli.data_dir_flag()
# --beta, --iterations, ..., --w_<reward>: every TuneConfig field (srnn_tf/configs.py).
cli.define_config_flags(TuneConfig)


def main(argv):
  del argv
  from srnn_tf import rundir

  config = TuneConfig(**cli.config_overrides(TuneConfig)).validate()
  run_dir = rundir.run_dir(_RUN.value)
  # A missing or unfinished run: one line. Each op on one core, as in training.
  run = cli.load_run(_RUN.value, threads=(1, 2))
  model, run_config = run.model, run.config
  if run_config is None:
    return cli.fail(f'{_RUN.value}: the run has no config.json (tuning needs its corpus)')
  workdir = _OUTPUT_DIR.value or (os.path.normpath(run_dir) + f'_tuned_beta{config.beta:g}')
  rundir.check_output_dir(workdir)
  with rundir.locked(workdir):
    return _tune(config, model, run_config, run_dir, workdir)


def _tune(config, model, run_config, run_dir, workdir) -> int:
  import tensorflow as tf
  from tqdm import tqdm
  from srnn_tf import callbacks, rundir
  from srnn_tf.rl import tuning
  if rundir.read_json(os.path.join(workdir, 'run.json')) is not None:
    print(f'{workdir} already finished; delete it to tune again.')
    return 0
  pretrained_run = rundir.load_run(_RUN.value)
  pretrained = pretrained_run.model
  pretrained.trainable = False
  corpus = pretrained_run.corpus(_DATA_DIR.value)
  reward = rewards_lib.MusicReward.from_corpus(corpus.splits['train'], config.weights,
                                               config.max_repeat)
  try:
    tuner = tuning.Tuner(model, pretrained, reward, config)
  except ValueError as e:
    return cli.fail(f'{_RUN.value}: {e}')

  checkpoint = tf.train.Checkpoint(model=model, optimizer=tuner.optimizer,
                                   baseline=tuner.baseline, step=tuner.step)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, 'checkpoints'), 2)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint)
    print(f'resuming from iteration {int(tuner.step)}')
  rundir.write_json(os.path.join(workdir, 'tune_config.json'),
                    {**dataclasses.asdict(config), 'pretrained': run_dir,
                     'key': sorted(reward.key), 'polyphony_range': reward.polyphony_range})
  writer = tf.summary.create_file_writer(os.path.join(workdir, 'tensorboard'))
  history_path = os.path.join(workdir, 'history.csv')
  start = int(tuner.step)
  if start == 0 and os.path.exists(history_path):
    os.remove(history_path)   # a history without a checkpoint is from a run that never saved
  history_rows = []
  bar = tqdm(range(start, config.iterations), initial=start, total=config.iterations,
             desc='tuning', unit='it')
  for i in bar:
    logs = tuner.iteration(i)   # NonFiniteLossError: one line from cli
    bar.set_postfix(reward=f'{logs["reward"]:.3f}', kl=f'{logs["kl"]:.3f}')
    with writer.as_default(step=i):
      for k, v in logs.items():
        tf.summary.scalar(k, v)
    history_rows.append({'iteration': i, **logs})
    if (i + 1) % config.checkpoint_every == 0 or i + 1 == config.iterations:
      new_file = not os.path.exists(history_path)
      with open(history_path, 'a', newline='') as f:
        writer_csv = csv.DictWriter(f, fieldnames=list(history_rows[0]))
        if new_file:
          writer_csv.writeheader()
        writer_csv.writerows(history_rows)
      history_rows = []
      manager.save()
  if not callbacks.weights_are_finite(model):
    return cli.fail('tuning ended with non-finite weights; nothing saved')

  result, rolls = tuning.compare(pretrained, model, reward, corpus, config.eval_pieces,
                                 config.num_steps, config.seed)
  name = os.path.basename(os.path.normpath(workdir))
  text = tuning.comparison_markdown(result, f'RL tuning of {os.path.basename(run_dir)}, '
                                    f'beta={config.beta:g}, {config.iterations} iterations')
  with open(os.path.join(workdir, 'tuning.md'), 'w') as f:
    f.write(text)
  tuning.write_examples(rolls, os.path.join(workdir, 'examples'))
  summary = {'tune_config': dataclasses.asdict(config), 'pretrained': run_dir,
             'comparison': result,
             'test': {'elbo_per_step': result['tuned']['test_elbo_per_step']}}
  tuning.save_tuned_run(model, run_config, workdir, summary)
  if _RESULTS_DIR.value:
    tuning.copy_results(workdir, _RESULTS_DIR.value, name)
  print(text)
  return 0


def run():
  """The `srnn-tune` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
