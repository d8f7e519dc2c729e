"""A finished run loaded back: its model, config and musical grid, from a run folder or a
`.keras` file, as the scripts that use one (eval, generate, reconstruct, tune, export) need it.
The only part of the run-folder code that loads TensorFlow (when `load_run` is called).
"""

import dataclasses
import os
import zipfile

from srnn_tf import configs
from srnn_tf import rundir
from srnn_tf.errors import RunDirError
from srnn_tf.files import read_json

def workdir_of(path: str) -> str:
  """The run folder of `path`: the path itself, or the folder of a `.keras` file."""
  return path if os.path.isdir(path) else os.path.dirname(path)


@dataclasses.dataclass
class Run:
  """A trained run, as the scripts that use one (eval, generate, reconstruct, tune, export)
  load it.

  Attributes:
    path: what was given: a run directory or a `.keras` file.
    workdir: the run folder (the `.keras` file's folder).
    model: the trained Keras model.
    config: the run's `configs.Config` (None for a `.keras` file without its config.json).
    grid: the musical time of its corpus (`data.grid`): from run.json, else from the config,
      else the default grid.
    home: where the scripts write by default (samples, reconstructions, the SavedModel): the
      run folder (None), or for a preset `./<name>` (`srnn_tf.presets`).
    summary: its run.json (a preset's: its card), None if it has none.
  """
  path: str
  workdir: str
  model: object
  config: configs.Config | None
  grid: object
  home: str | None = None
  summary: dict | None = None

  def output_path(self, *parts: str) -> str:
    """`parts` under the run's default output folder (`home`, else the run folder)."""
    return os.path.join(self.home or self.workdir, *parts)

  @property
  def name(self) -> str:
    return os.path.basename(os.path.normpath(self.workdir))

  def corpus(self, data_dir: str | None = None, dataset: str | None = None,
             data_version: str | None = None):
    """The run's corpus (arguments given override the run's): `data.corpus.Corpus`.

    Raises:
      RunDirError: the run has no config.json and no `dataset` was given.
    """
    from srnn_tf.data import corpus as corpus_lib
    from srnn_tf.data import registry
    config = self.config
    dataset = dataset or (config and config.dataset)
    if not dataset:
      raise RunDirError(f'{self.path}: the run has no config.json to find its corpus: give '
                        '--dataset')
    version = data_version or (config and config.data_version) or registry.DEFAULT_VERSION
    return corpus_lib.load_corpus(dataset, version, data_dir or (config and config.data_dir),
                                  frames_per_quarter=config.frames_per_quarter if config else 4)


def model_file(path: str) -> str:
  """The model file of a run directory or `.keras` file, without loading TensorFlow.

  Raises:
    RunDirError: naming the path: missing, a run that has not finished, or a `.keras` file
      that is not a whole zip archive (truncated: the archive's index is at its end).
  """
  if not os.path.exists(path):
    raise RunDirError(f'--run={path}: no such run directory or .keras file')
  model_path = os.path.join(path, rundir.MODEL_KERAS) if os.path.isdir(path) else path
  if not os.path.exists(model_path):
    raise RunDirError(f'{path}: no trained model here: the run has not finished (rerun '
                      'train.py with the same flags to resume it)')
  if model_path.endswith('.keras'):   # Keras's format is a zip: checked in a blink
    try:
      with zipfile.ZipFile(model_path) as archive:
        damaged = archive.testzip()   # the first member whose CRC fails, or None
      problem = f'member {damaged} fails its checksum' if damaged else None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
      problem = type(e).__name__
    if problem:
      raise RunDirError(f'{model_path}: not a readable model (truncated or damaged: '
                        f'{problem})')
  return model_path


def load_run(path: str) -> Run:
  """Loads a trained run from a run directory or a `.keras` file.

  Raises:
    RunDirError: naming the path: missing, not finished, or a damaged model file.
  """
  from srnn_tf.data import grid as grid_lib
  model_path = model_file(path)
  workdir = workdir_of(path)
  import keras  # here, not above: the checks before it answer without loading TensorFlow
  import srnn_tf.models  # noqa: F401  (registers the model classes for deserialisation)
  import srnn_tf.schedules  # noqa: F401  (registers the learning-rate schedule)
  try:
    model = keras.saving.load_model(model_path, compile=False)
  except Exception as e:  # zipfile, h5py, JSON and Keras errors for a damaged file
    if 'safe_mode' in str(e):   # Keras's safe mode refused it: it holds code
      raise RunDirError(f'{model_path}: refused: loading it would run code it holds (a '
                        'Lambda layer or a function); not a model srnn_tf saved') from None
    raise RunDirError(f'{model_path}: not a readable model (truncated or damaged: '
                      f'{type(e).__name__})') from None
  config = None
  config_path = os.path.join(workdir, rundir.CONFIG_JSON)
  if os.path.exists(config_path):
    recorded = read_json(config_path)
    if not isinstance(recorded, dict):
      raise RunDirError(f'{config_path}: unreadable (truncated or not JSON)')
    config = configs.from_dict(recorded, source=config_path)
  summary = read_json(os.path.join(workdir, rundir.RUN_JSON))
  if isinstance(summary, dict) and isinstance(summary.get('grid'), dict):
    grid = grid_lib.Grid.from_dict(summary['grid'])
  elif config is not None:    # runs finished before run.json recorded the grid
    grid = grid_lib.corpus_grid(config.dataset, config.data_version, config.frames_per_quarter)
  else:
    grid = grid_lib.Grid()
  return Run(path, workdir, model, config, grid,
             summary=summary if isinstance(summary, dict) else None)
