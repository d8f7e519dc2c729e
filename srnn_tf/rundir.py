"""The run folder's protocol: what a training run's folder holds, its identity, history and
resume point. Every file of it is named here (`RUN_JSON`, ..., `SAVED_MODEL`), and written
through `files` (atomic). `finished` loads a finished run back.

A training run folder (`workdir` in the code, `--output_dir` on the command line) holds

    .lock             held (flock) by the process training in it; a second one is refused
    config.json       the run's configuration: its identity (a resume must match it)
    backup/           the resume point: `weights-<epoch>.weights.h5` (weights, optimizer and
                      noise state) and `state.json`, which names the weights of the last
                      finished epoch and is replaced atomically after them (the commit point);
                      `state.json.prev` and its weights are the previous epoch's, a fallback
    best.weights.h5   with --keep_best: the best-validation epoch's weights, and best.json
    history.csv       one row per finished epoch (written before the epoch's backup commit)
    tensorboard/      TensorBoard logs
    model.keras       the final model; saved_model/ the final SavedModel (+ metadata.json)
    run.json          the summary, written last: a run with a readable run.json is finished

Every file is written to a temporary name in the same folder and renamed into place, so a
kill at any moment leaves either the old or the new file, never half of one. See
docs/guarantees.md for what this promises to a user.
"""

import contextlib
import csv
import dataclasses
import io
import os
import shutil

from srnn_tf import configs
from srnn_tf.errors import RunDirError, UserError
from srnn_tf import files
from srnn_tf.files import (TMP_PREFIX, atomic_path, exclusive, holder, read_json, write_json,
                           write_text)

LOCK = '.lock'
CONFIG_JSON = 'config.json'
BACKUP = 'backup'
STATE_JSON = 'state.json'
HISTORY_CSV = 'history.csv'
BEST_JSON = 'best.json'
BEST_WEIGHTS = 'best.weights.h5'
TENSORBOARD = 'tensorboard'
MODEL_KERAS = 'model.keras'
SAVED_MODEL = 'saved_model'
RUN_JSON = 'run.json'

# Config fields a resume may change: they do not change what is trained. `epochs` may only
# grow (training a finished run further).
RESUMABLE_FIELDS = ('epochs', 'data_dir', 'intra_op_threads', 'inter_op_threads', 'media_every',
                    'saved_model', 'evaluate_test')


def check_output_dir(path: str, flag: str = '--output_dir') -> None:
  """Creates folder `path`, or says in one line why it cannot be one."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise UserError(f'{flag}={path}: is a file, not a folder')
  try:
    os.makedirs(path, exist_ok=True)
  except (NotADirectoryError, FileExistsError):
    raise UserError(f'{flag}={path}: cannot create it (a parent is a file)') from None
  except PermissionError:
    raise UserError(f'{flag}={path}: cannot create it (permission denied)') from None
  if not os.access(path, os.W_OK):
    raise UserError(f'{flag}={path}: not writable')


def check_run_folder(path: str, flag: str = '--output_dir', marker: str = CONFIG_JSON) -> None:
  """Refuses, in one line, a folder that holds files but is not a run folder (no `marker`,
  the file a run writes first: a training's config.json, a tuning's tune_config.json): a
  new run there would remove or overwrite what is in it. A folder with only what a run
  creates before it (its lock, temporaries) is the start of a run."""
  if not os.path.isdir(path) or os.path.exists(os.path.join(path, marker)):
    return
  foreign = sorted(name for name in os.listdir(path)
                   if name != LOCK and not name.startswith(TMP_PREFIX))
  if foreign:
    shown = ', '.join(foreign[:3]) + (', ...' if len(foreign) > 3 else '')
    raise UserError(f'{flag}={path}: holds files ({shown}) but is not a run folder (no '
                    f'{marker}); give an empty or new folder, so that nothing of yours is '
                    'overwritten')


@contextlib.contextmanager
def locked(workdir: str):
  """Holds the run directory's lock: a second process in the same folder is refused."""
  with exclusive(os.path.join(workdir, LOCK),
                 'wait for it to finish, or use another --output_dir'):
    remove_temporaries(workdir)
    yield


def remove_temporaries(workdir: str) -> None:
  """Removes what killed writers left in the run folder and its backup (under its lock)."""
  for folder in (workdir, os.path.join(workdir, BACKUP)):
    files.remove_temporaries(folder)


# --------------------------------------------------------------------------------------------
# The run's identity.


def check_config(workdir: str, config: configs.Config) -> configs.Config | None:
  """Compares `config` with the run's recorded config.json.

  Returns:
    The recorded config (None for a new run).
  Raises:
    RunDirError: naming the flags that differ, if the resume would change the run (only
      `RESUMABLE_FIELDS` may change, and `epochs` only upwards).
  """
  path = os.path.join(workdir, CONFIG_JSON)
  if not os.path.exists(path):
    return None
  recorded = read_json(path)
  if not isinstance(recorded, dict):
    raise RunDirError(f'{path}: unreadable (truncated or not JSON); cannot tell which run '
                      'this folder holds: delete the folder to start again')
  old = configs.from_dict(recorded, source=path)
  new = dataclasses.asdict(config)
  resumable = RESUMABLE_FIELDS
  if _holds_learning_rate(old) and _holds_learning_rate(config):
    # Both hold the learning rate through every epoch: the same schedule, whatever epoch the
    # decay would have started at (a held-rate run trained further keeps its rate held).
    resumable += ('lr_constant_epochs',)
  differ = [f'--{k}={new[k]} (the run has {v})' for k, v in dataclasses.asdict(old).items()
            if k not in resumable and new[k] != v]
  if config.epochs < old.epochs:
    differ.append(f'--epochs={config.epochs} (the run has {old.epochs}; a run can only be '
                  'trained further)')
  if differ:
    raise RunDirError(f'{workdir} holds another run: ' + '; '.join(differ) +
                      '. Give the run\'s own flags to resume it, or another --output_dir')
  return old


def _holds_learning_rate(config: configs.Config) -> bool:
  """Whether the learning rate never decays: held for all of the run's epochs."""
  return config.lr_constant_epochs >= config.epochs


def write_config(workdir: str, config: configs.Config) -> None:
  write_json(os.path.join(workdir, CONFIG_JSON), dataclasses.asdict(config))


# --------------------------------------------------------------------------------------------
# History: one row per finished epoch.


def read_history(workdir: str) -> list[dict]:
  """The history's rows (none for a new run).

  Raises:
    RunDirError: naming the file, when it is not a CSV text (binary or damaged).
  """
  path = os.path.join(workdir, HISTORY_CSV)
  if not os.path.exists(path):
    return []
  try:
    with open(path, newline='') as f:
      return list(csv.DictReader(f))
  except (UnicodeDecodeError, csv.Error) as e:
    raise RunDirError(f'{path}: not a readable history ({type(e).__name__}); the run cannot '
                      'resume: delete the folder to start again') from None


def truncate_history(workdir: str, epochs: int) -> int:
  """Keeps the history's first `epochs` rows (those the backup holds). Returns the number of
  rows dropped: epochs that finished after the last backup commit, to be trained again."""
  rows = read_history(workdir)
  if len(rows) <= epochs:
    return 0
  buf = io.StringIO()
  writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator='\n')
  writer.writeheader()
  writer.writerows(rows[:epochs])
  write_text(os.path.join(workdir, HISTORY_CSV), buf.getvalue() if epochs else '')
  if not epochs:
    os.remove(os.path.join(workdir, HISTORY_CSV))
  return len(rows) - epochs


def history_column(workdir: str, key: str) -> list[float]:
  return [float(r[key]) for r in read_history(workdir) if r.get(key)]


# --------------------------------------------------------------------------------------------
# The resume point.


@dataclasses.dataclass
class ResumePoint:
  """Where a run resumes: after `epoch` finished epochs, from `weights` (None: a new run)."""
  epoch: int = 0
  weights: str | None = None
  note: str | None = None     # what the user should know (a fallback to the previous epoch)


def _state(backup: str, name: str) -> tuple[int, str] | str:
  """The backup's state file `name`: `(epoch, weights file)`, or what is wrong with it."""
  path = os.path.join(backup, name)
  if not os.path.exists(path):
    return f'{name} missing'
  state = read_json(path)
  if not isinstance(state, dict) or not isinstance(state.get('epoch'), int) or \
      not isinstance(state.get('weights'), str):
    return f'{name} unreadable'
  weights = os.path.join(backup, os.path.basename(state['weights']))
  if not os.path.isfile(weights):
    return f'{name} names {os.path.basename(weights)}, which is missing'
  return state['epoch'], weights


def restore(workdir: str, max_epochs: int, load) -> ResumePoint:
  """Finds the run's resume point, checks it against the history, and loads its weights with
  `load(path)`; history rows of epochs after it are dropped (they are trained again).

  The latest state is tried first, then the previous epoch's (with a note saying so).

  Raises:
    RunDirError: the folder has a history but no usable backup, or a backup that the
      history contradicts (edited or damaged by hand).
  """
  backup = os.path.join(workdir, BACKUP)
  rows = len(read_history(workdir))
  latest, previous = _state(backup, STATE_JSON), _state(backup, STATE_JSON + '.prev')
  legacy = os.path.join(backup, 'training_metadata.json')
  if isinstance(latest, str) and os.path.exists(legacy):
    meta = read_json(legacy)   # a backup written by Keras's BackupAndRestore
    weights = os.path.join(backup, 'latest.weights.h5')
    if isinstance(meta, dict) and isinstance(meta.get('epoch'), int) and os.path.isfile(weights):
      latest = (meta['epoch'], weights)
  problems = []
  for i, candidate in enumerate((latest, previous)):
    if isinstance(candidate, str):
      problems.append(candidate)
      continue
    epoch, weights = candidate
    if not 0 < epoch <= max_epochs or epoch > rows:
      raise RunDirError(f'{backup}: its training state says epoch {epoch}, but history.csv '
                        f'records {rows} epoch(s) of {max_epochs}: the folder was changed by '
                        'hand; delete it to start again')
    try:
      load(weights)
    except Exception as e:  # h5py and Keras errors for a truncated or damaged file
      problems.append(f'{os.path.basename(weights)}: {type(e).__name__}')
      continue
    # Rows after the state's epoch: epochs that finished after its commit (the history row is
    # written first). They are trained again, so their rows go.
    truncate_history(workdir, epoch)
    note = None if i == 0 else (f'{backup}: the latest training state is unusable '
                                f'({problems[0]}); resumed from the previous one, after '
                                f'epoch {epoch}')
    return ResumePoint(epoch, weights, note)
  if rows > 1 or any(not isinstance(c, str) for c in (latest, previous)):
    raise RunDirError(f'{workdir}: history.csv records {rows} epoch(s) but {backup} holds no '
                      f'usable training state ({", ".join(problems)}); the run cannot resume: '
                      'delete the folder to start again')
  # One history row and no state ever committed: killed between the first epoch's history row
  # and its commit. That epoch is trained again, like any epoch after the last commit.
  truncate_history(workdir, 0)
  return ResumePoint()


def epochs_done(workdir: str) -> int:
  """Epochs the run's backup holds (0: none); for progress reports."""
  backup = os.path.join(workdir, BACKUP)
  for name in (STATE_JSON, 'training_metadata.json'):   # ours; Keras's, of older runs
    state = read_json(os.path.join(backup, name))
    if isinstance(state, dict) and isinstance(state.get('epoch'), int):
      return state['epoch']
  return 0


# What `progress` says of a run whose folder another process holds (a second queue lane walking
# the same list, or a user's train.py).
BUSY = 'training elsewhere'


def progress(workdir: str, epochs: int | None = None) -> str:
  """An unfinished run's state, for listings: held by another process, resumable after the
  epochs its backup holds (of `epochs`, when given), or not started."""
  if owner := holder(os.path.join(workdir, LOCK)):
    return f'{BUSY} ({owner})'
  if done := epochs_done(workdir):
    return f'{done}/{epochs} epochs done' if epochs else f'{done} epochs done'
  return 'not started'


def resume_point_exists(workdir: str) -> bool:
  backup = os.path.join(workdir, BACKUP)
  return any(os.path.exists(os.path.join(backup, f))
             for f in (STATE_JSON, STATE_JSON + '.prev', 'training_metadata.json'))


def save_backup(workdir: str, model, epoch: int) -> None:
  """Commits the state after `epoch` finished epochs: weights file first, then `state.json`
  (atomically); the previous state stays as the fallback, older weights are removed."""
  backup = os.path.join(workdir, BACKUP)
  os.makedirs(backup, exist_ok=True)
  name = f'weights-{epoch:05d}.weights.h5'
  files.save_weights(model, os.path.join(backup, name))
  state = os.path.join(backup, STATE_JSON)
  if os.path.exists(state):
    with atomic_path(state + '.prev') as tmp:
      shutil.copyfile(state, tmp)
  write_json(state, {'epoch': epoch, 'weights': name})
  previous = _state(backup, STATE_JSON + '.prev')
  keep = {name} | ({os.path.basename(previous[1])} if previous else set())
  for f in os.listdir(backup):
    if f.startswith('weights-') and f.endswith('.weights.h5') and f not in keep:
      os.remove(os.path.join(backup, f))


# --------------------------------------------------------------------------------------------
# Finished runs and their results.


def finished_summary(workdir: str) -> dict | None:
  """The summary of a finished run (readable run.json and model.keras), else None."""
  summary = read_json(os.path.join(workdir, RUN_JSON))
  if isinstance(summary, dict) and os.path.isfile(os.path.join(workdir, MODEL_KERAS)):
    return summary
  return None


def copy_results(results_dir: str, files: dict[str, str], overwrite: bool = False) -> None:
  """Copies `{source path: name in results_dir}`. A file there that holds something else is
  not replaced unless `overwrite`: results of other runs (committed ones) are never lost."""
  os.makedirs(results_dir, exist_ok=True)
  for source, name in files.items():
    target = os.path.join(results_dir, name)
    if os.path.exists(target) and not overwrite:
      with open(source, 'rb') as a, open(target, 'rb') as b:
        if a.read() != b.read():
          raise RunDirError(f'{target} exists and holds other results; not replaced (pass '
                            '--overwrite_results to replace it, or another --results_dir)')
      continue
    with atomic_path(target) as tmp:
      shutil.copyfile(source, tmp)


