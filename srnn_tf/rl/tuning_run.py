"""A tuning run, as `trainer` is a training run: its folder (identity, lock, resume point,
history), the policy-gradient loop, and what it leaves (the tuned model in the training
format, tuning.md, example MIDI files on the corpus's grid). `tune.py` parses the flags and
calls `tune`.

The folder's guarantees are the training run's (docs/guarantees.md): a resume under other
flags is refused naming them; the resume point is the last checkpoint, and the history is
cut back to it, so that a kill between appending rows and saving the checkpoint repeats those
iterations instead of their rows.
"""

import csv
import dataclasses
import os

from srnn_tf import files, finished, rundir
from srnn_tf.configs import TuneConfig
from srnn_tf.errors import NonFiniteLossError, RunDirError

TUNE_CONFIG = 'tune_config.json'
CHECKPOINTS = 'checkpoints'
# What a resumed tuning may change: more iterations, the checkpoints' spacing, the size of the
# final comparison, whether it writes a SavedModel. Everything else would make it another
# tuning.
RESUMABLE_FIELDS = ('iterations', 'checkpoint_every', 'eval_pieces', 'saved_model')


def check_identity(workdir: str, config: TuneConfig, pretrained: str) -> None:
  """Refuses to resume the tuning in `workdir` under other settings or another pre-trained
  run (`RunDirError` naming the flags); a folder without its tune_config.json is new."""
  path = os.path.join(workdir, TUNE_CONFIG)
  if not os.path.exists(path):
    return
  recorded = files.read_json(path)
  if not isinstance(recorded, dict):
    raise RunDirError(f'{path}: unreadable (truncated or not JSON); cannot tell which tuning '
                      'this folder holds: delete the folder to start again')
  new = dataclasses.asdict(config)
  differ = [f'--{k}={v} (the tuning has {recorded.get(k)})' for k, v in new.items()
            if k not in RESUMABLE_FIELDS and recorded.get(k) != v]
  if recorded.get('pretrained') != pretrained:
    differ.append(f'--run={pretrained} (the tuning has {recorded.get("pretrained")})')
  if isinstance(recorded.get('iterations'), int) and config.iterations < recorded['iterations']:
    differ.append(f'--iterations={config.iterations} (the tuning has '
                  f'{recorded["iterations"]}; a tuning can only go further)')
  if differ:
    raise RunDirError(f'{workdir} holds another tuning: ' + '; '.join(differ) +
                      '. Give its own flags to resume it, or another --output_dir')


def tune(config: TuneConfig, run: finished.Run, workdir: str, data_dir: str | None = None,
         results_dir: str | None = None) -> str:
  """Tunes the latent model of the trained `run` (`finished.load_run`) into the run folder
  `workdir` (made, or resumed from its last checkpoint), under its lock.

  Returns:
    tuning.md's text: the pre-trained and the tuned model compared.
  Raises:
    UserError: a run that is no latent model or has no config.json, a folder that holds
      other files or another tuning (nothing in it is touched; a new folder is not made).
    NonFiniteLossError: a non-finite policy gradient (the last checkpoint is untouched).
  """
  require_latent(run)
  if os.path.isdir(workdir):
    rundir.check_run_folder(workdir, marker=TUNE_CONFIG)
    check_identity(workdir, config, run.workdir)
  rundir.check_output_dir(workdir)
  with rundir.locked(workdir):
    check_identity(workdir, config, run.workdir)   # again, under the lock
    if files.read_json(os.path.join(workdir, rundir.RUN_JSON)) is not None:
      print(f'{workdir} already finished; delete it to tune again.')
      with open(os.path.join(workdir, 'tuning.md')) as f:
        return f.read()
    return _tune(config, run, workdir, data_dir, results_dir)


def require_latent(run: finished.Run) -> None:
  """Refuses a run that cannot be tuned: no latent model (`RunDirError`), or no config.json
  (the rewards are fitted to its corpus)."""
  from srnn_tf.models import LatentModel
  if not isinstance(run.model, LatentModel):
    raise RunDirError(f'{run.path}: RL tuning needs a latent model (SRNN, VRNN, DMM, STORN), '
                      f'not a {type(run.model).__name__}: its generative model\'s z and x '
                      'steps are the policy')
  if run.config is None:
    raise RunDirError(f'{run.path}: the run has no config.json (tuning needs its corpus)')


def _tune(config, run, workdir, data_dir, results_dir) -> str:
  import tensorflow as tf
  from tqdm import tqdm
  from srnn_tf import callbacks
  from srnn_tf.rl import rewards as rewards_lib
  from srnn_tf.rl import tuning

  pretrained = run.model
  model = type(pretrained).from_config(pretrained.get_config())   # the policy: a copy to tune
  model.build()
  model.set_weights(pretrained.get_weights())
  pretrained.trainable = False
  corpus = run.corpus(data_dir)
  reward = rewards_lib.MusicReward.from_corpus(corpus.splits['train'], config.weights,
                                               config.max_repeat)
  tuner = tuning.Tuner(model, pretrained, reward, config)

  checkpoint = tf.train.Checkpoint(model=model, optimizer=tuner.optimizer,
                                   baseline=tuner.baseline, step=tuner.step)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, CHECKPOINTS), 2)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint)
    print(f'resuming from iteration {int(tuner.step)}')
  start = int(tuner.step)
  # Rows after the checkpoint are of iterations it does not hold: they run again.
  rundir.truncate_history(workdir, start)
  files.write_json(os.path.join(workdir, TUNE_CONFIG),
                    {**dataclasses.asdict(config), 'pretrained': run.workdir,
                     'key': sorted(reward.key), 'polyphony_range': reward.polyphony_range})
  writer = tf.summary.create_file_writer(os.path.join(workdir, rundir.TENSORBOARD))
  history_path = os.path.join(workdir, rundir.HISTORY_CSV)
  rows = []
  bar = tqdm(range(start, config.iterations), initial=start, total=config.iterations,
             desc='tuning', unit='it')
  for i in bar:
    logs = tuner.iteration(i)
    bar.set_postfix(reward=f'{logs["reward"]:.3f}', kl=f'{logs["kl"]:.3f}')
    with writer.as_default(step=i):
      for k, v in logs.items():
        tf.summary.scalar(k, v)
    rows.append({'iteration': i, **logs})
    if (i + 1) % config.checkpoint_every == 0 or i + 1 == config.iterations:
      new_file = not os.path.exists(history_path)
      with open(history_path, 'a', newline='') as f:
        history = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new_file:
          history.writeheader()
        history.writerows(rows)
      rows = []
      files.failpoint('tune_history_appended')
      manager.save()
  if not callbacks.weights_are_finite(model):
    raise NonFiniteLossError('tuning ended with non-finite weights; nothing saved')

  result, rolls = tuning.compare(pretrained, model, reward, corpus, config.eval_pieces,
                                 config.num_steps, config.seed)
  name = os.path.basename(os.path.normpath(workdir))
  text = tuning.comparison_markdown(result, f'RL tuning of {run.name}, beta={config.beta:g}, '
                                    f'{config.iterations} iterations')
  files.write_text(os.path.join(workdir, 'tuning.md'), text)
  tuning.write_examples(rolls, os.path.join(workdir, 'examples'), run.grid)
  summary = {'tune_config': dataclasses.asdict(config), 'pretrained': run.workdir,
             'comparison': result, 'grid': run.grid.to_dict(),
             'test': {'elbo_per_step': result['tuned']['test_elbo_per_step']}}
  tuning.save_tuned_run(model, run.config, workdir, summary, config.saved_model)
  if results_dir:
    tuning.copy_results(workdir, results_dir, name)
  return text
