"""Reinforcement-learning tuning of a trained SRNN for music (Jaques et al. 2016, polyphonic).

    python tune.py --run=runs/jsb_srnn2016_srnn_z100_d300 --beta=2

The SRNN's generative model is the policy; REINFORCE with reward-to-go and a running
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

from absl import flags

from srnn_tf import cli

from srnn_tf.rl import rewards as rewards_lib

_RUN = flags.DEFINE_string('run', None, 'The pre-trained SRNN run (directory or .keras).',
                           required=True)
_OUTPUT_DIR = flags.DEFINE_string('output_dir', None, 'Default: <run>_tuned_beta<beta>.')
_RESULTS_DIR = flags.DEFINE_string('results_dir', '', 'Also copy run.json, history.csv and '
                                   'tuning.md here ("": nowhere).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Data directory (default: the run\'s).')
_BETA = flags.DEFINE_float('beta', 2.0, 'KL-control weight (reward nats per nat of KL).',
                           lower_bound=0.0)
_ITERATIONS = flags.DEFINE_integer('iterations', 150, 'Policy-gradient iterations.',
                                   lower_bound=1)
_BATCH = flags.DEFINE_integer('batch_size', 32, 'Pieces sampled per iteration.', lower_bound=1)
_STEPS = flags.DEFINE_integer('num_steps', 64, 'Frames per sampled piece.', lower_bound=1)
_LR = flags.DEFINE_float('learning_rate', 3e-5, 'Adam learning rate.', lower_bound=0.0)
_SEED = flags.DEFINE_integer('seed', 0, 'Sampling seed.')
_EVERY = flags.DEFINE_integer('checkpoint_every', 25, 'Iterations between checkpoints.',
                              lower_bound=1)
_EVAL_PIECES = flags.DEFINE_integer('eval_pieces', 200, 'Samples per model in the comparison.',
                                    lower_bound=1)
_MAX_REPEAT = flags.DEFINE_integer('max_repeat', 8, 'Frames a frame may repeat unpenalised.',
                                   lower_bound=1)
_WEIGHTS = {name: flags.DEFINE_float(f'w_{name}', 1.0, f'Weight of the {name} reward.')
            for name in rewards_lib.REWARDS}


def main(argv):
  del argv
  from srnn_tf import rundir
  from srnn_tf.rl import tuning

  config = tuning.TuneConfig(
      beta=_BETA.value, iterations=_ITERATIONS.value, batch_size=_BATCH.value,
      num_steps=_STEPS.value, learning_rate=_LR.value, seed=_SEED.value,
      weights={k: f.value for k, f in _WEIGHTS.items()}, max_repeat=_MAX_REPEAT.value,
      checkpoint_every=_EVERY.value)
  run_dir = rundir.run_dir(_RUN.value)
  model, run_config = rundir.load_run(_RUN.value)   # a missing or unfinished run: one line
  if run_config is None:
    return cli.fail(f'{_RUN.value}: the run has no config.json (tuning needs its corpus)')
  workdir = _OUTPUT_DIR.value or (os.path.normpath(run_dir) + f'_tuned_beta{config.beta:g}')
  rundir.check_output_dir(workdir)
  with rundir.locked(workdir):
    return _tune(config, model, run_config, run_dir, workdir)


def _tune(config, model, run_config, run_dir, workdir) -> int:
  import tensorflow as tf
  from tqdm import tqdm
  from srnn_tf import rundir, training
  from srnn_tf.data import corpus as corpus_lib
  from srnn_tf.rl import tuning
  if rundir.read_json(os.path.join(workdir, 'run.json')) is not None:
    print(f'{workdir} already finished; delete it to tune again.')
    return 0
  training.set_threads(1, 2)
  pretrained, _ = rundir.load_run(_RUN.value)
  pretrained.trainable = False
  corpus = corpus_lib.load_corpus(run_config.dataset, run_config.data_version,
                                  _DATA_DIR.value or run_config.data_dir)
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
  if not training.weights_are_finite(model):
    return cli.fail('tuning ended with non-finite weights; nothing saved')

  result, rolls = tuning.compare(pretrained, model, reward, corpus, _EVAL_PIECES.value,
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
