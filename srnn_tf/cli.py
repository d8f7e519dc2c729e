"""What every entry point shares: flags errors and the package's `UserError`s as one line on
stderr with a non-zero exit status (2 for a bad flag, else the error's `exit_status`: 1, or 75
for a run folder another process holds), and TensorFlow quiet (its INFO log lines, e.g.
"Assets written to", are dropped; srnn_tf's own and every warning stay).

    if __name__ == '__main__':
      cli.run(main)
"""

import dataclasses
import logging as std_logging
import os
import re
import sys
import tempfile
import warnings

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

from srnn_tf import limits  # noqa: E402
from srnn_tf.errors import UserError, is_no_space  # noqa: E402


def fail(message: str, status: int = 1) -> int:
  print(f'error: {message}', file=sys.stderr)
  return status


# Every entry point's flags for the limits on what an input or a request may allocate
# (`limits.Limits`), applied as the flags are parsed.
for _field in dataclasses.fields(limits.Limits):
  flags.DEFINE_integer(_field.name, _field.default, _field.metadata['help'], lower_bound=1)


def _parse(argv):
  try:
    rest = flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(fail(str(e), 2))
  limits.configure(**{field.name: flags.FLAGS[field.name].value
                      for field in dataclasses.fields(limits.Limits)})
  return rest


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _ours_or_warning(record) -> bool:
  return record.levelno >= std_logging.WARNING or record.pathname.startswith(_PACKAGE)


# TensorFlow's C++ runtime logs a few lines through Abseil before Abseil's logging is set up,
# and those ignore TF_CPP_MIN_LOG_LEVEL (TF 2.21): a "before absl::InitializeLog()" warning,
# INFO lines (oneDNN, the CUDA stubs) and, where no CUDA driver is installed, an error line for
# the failed cuInit that only says so again. Every other line is passed on.
_PRE_INIT_NOISE = re.compile(
    r'WARNING: All log messages before absl::InitializeLog\(\) is called|I\d{4} ')
_NO_CUDA_DRIVER = 'Could not find cuda drivers on your machine'
_FAILED_CUINIT = re.compile(r'E\d{4} .*\] failed call to cuInit')


def tensorflow_startup_lines(text: str) -> str:
  """`text` (what TensorFlow's import and device set-up wrote to stderr) without the lines a
  user should not see: those above, the cuInit error only where the driver is missing."""
  lines = text.splitlines(keepends=True)
  no_driver = any(_NO_CUDA_DRIVER in line for line in lines)
  return ''.join(line for line in lines if not (
      _PRE_INIT_NOISE.match(line) or (no_driver and _FAILED_CUINIT.match(line))))


def import_tensorflow_quietly(threads: tuple[int, int] | None = None) -> None:
  """Imports TensorFlow and sets up its devices with file descriptor 2 captured (the C++
  runtime writes there directly), then writes what is left after `tensorflow_startup_lines`
  to stderr. Does nothing once TensorFlow is imported, or where TF_CPP_MIN_LOG_LEVEL=0 asks
  for all of TensorFlow's log (TensorFlow then loads on first use, as usual).

  Args:
    threads: (intra-op, inter-op) thread-pool sizes (0: TF's default). The device set-up
      starts TensorFlow's runtime, after which the pools cannot change: an entry point that
      sets them (training) passes them here.
  """
  if 'tensorflow' in sys.modules or os.environ.get('TF_CPP_MIN_LOG_LEVEL') == '0':
    return
  sys.stderr.flush()
  stderr = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf
      if threads is not None:
        from srnn_tf import threads as pools   # TensorFlow's: imported just above
        pools.set_threads(*threads)
      tf.config.list_logical_devices()   # device set-up: the cuInit line
    finally:
      sys.stderr.flush()
      os.dup2(stderr, 2)
      os.close(stderr)
      captured.seek(0)
      sys.stderr.write(tensorflow_startup_lines(captured.read().decode(errors='replace')))


def load_run(path: str, threads: tuple[int, int] | None = None):
  """`finished.load_run(path)` for an entry point: a missing or unfinished run is answered
  before TensorFlow loads (seconds), and TensorFlow loads quietly, with `threads` (as in
  `import_tensorflow_quietly`; default: those of the run's final evaluation, from its
  run.json, else its config's, so that an evaluation partitions each op's sums as the
  training's did and gives its numbers to the last digit)."""
  from srnn_tf import files, finished, rundir
  finished.model_file(path)
  if threads is None:
    workdir = finished.workdir_of(path)
    summary = files.read_json(os.path.join(workdir, rundir.RUN_JSON))
    config = files.read_json(os.path.join(workdir, rundir.CONFIG_JSON))
    recorded = summary.get('evaluation_threads') if isinstance(summary, dict) else None
    if (isinstance(recorded, list) and len(recorded) == 2
        and all(isinstance(n, int) and n >= 0 for n in recorded)):
      threads = tuple(recorded)
    elif isinstance(config, dict) and 'intra_op_threads' in config:
      threads = (config['intra_op_threads'], config.get('inter_op_threads', 0))
  import_tensorflow_quietly(threads)
  return finished.load_run(path)


class ConsoleFormatter(std_logging.Formatter):
  """`HH:MM:SS message`, with the level before warnings and errors. Abseil's own prefix (level
  and date, microseconds, thread id, file:line) is for whoever debugs the package, not for a
  user watching a training."""

  def __init__(self):
    super().__init__('%(asctime)s %(message)s', datefmt='%H:%M:%S')

  def formatMessage(self, record):
    if record.levelno >= std_logging.WARNING:
      return f'{self.formatTime(record, self.datefmt)} {record.levelname}: {record.message}'
    return super().formatMessage(record)


def run(main) -> None:
  """`app.run(main)` with one-line errors and a plain log format (`ConsoleFormatter`)."""
  logging.get_absl_logger().addFilter(_ours_or_warning)
  std_logging.getLogger('tensorflow').setLevel(std_logging.WARNING)   # TF's own Python logger
  # Keras warns on every fit() that tf.data input is not reshuffled by it: ours shuffles itself.
  warnings.filterwarnings('ignore', message='`shuffle=True` was passed')

  def guarded(argv):
    logging.get_absl_handler().setFormatter(ConsoleFormatter())   # app.run has set it up
    try:
      return main(argv)
    except UserError as e:
      return fail(str(e), e.exit_status)
    except KeyboardInterrupt:
      # Every file is written through a temporary and a rename, and a run resumes from its
      # last finished epoch: after Ctrl-C there is nothing to show but this.
      return fail('interrupted; nothing half-written is left: rerun the same command to resume '
                  '(a training from its last finished epoch) or to start again', 130)
    except OSError as e:
      if is_no_space(e):
        return fail(f'disk full while writing {e.filename or "the output"}')
      raise
  app.run(guarded, flags_parser=_parse)


def positive(name: str, default, help_: str, kind=int):
  """An integer (or float) flag that must be positive; the error names it."""
  define = flags.DEFINE_integer if kind is int else flags.DEFINE_float
  holder = define(name, default, help_)
  flags.register_validator(name, lambda v: v is None or v > 0,
                           message=f'--{name} must be positive')
  return holder


def at_least(name: str, default, help_: str, lower: float, kind=int, upper=None):
  """An integer (or float) flag in `[lower, upper]`; the error names it and the range."""
  define = flags.DEFINE_integer if kind is int else flags.DEFINE_float
  holder = define(name, default, help_)
  bound = f'at least {lower}' if upper is None else f'in [{lower}, {upper}]'
  flags.register_validator(
      name, lambda v: v is None or (v >= lower and (upper is None or v <= upper)),
      message=f'--{name} must be {bound}')
  return holder


# Configuration dataclasses (`configs.Config`, `configs.TuneConfig`) as flags: each field
# with a `help` in its metadata is one flag, of the field's type, named as the field.


def define_config_flags(cls, flag_values=flags.FLAGS) -> None:
  """Defines a flag for every field of dataclass `cls` that has `metadata['help']`."""
  for field in dataclasses.fields(cls):
    help_ = field.metadata.get('help')
    if help_ is None:
      continue
    default, choices = field.default, field.metadata.get('choices')
    if choices:
      flags.DEFINE_enum(field.name, default, list(choices), help_, flag_values=flag_values)
    elif isinstance(default, bool):
      flags.DEFINE_bool(field.name, default, help_, flag_values=flag_values)
    elif isinstance(default, int):
      flags.DEFINE_integer(field.name, default, help_, flag_values=flag_values)
    elif isinstance(default, float):
      flags.DEFINE_float(field.name, default, help_, flag_values=flag_values)
    elif isinstance(default, tuple):
      flags.DEFINE_list(field.name, [str(v) for v in default], help_, flag_values=flag_values)
    else:
      flags.DEFINE_string(field.name, default, help_, flag_values=flag_values)


def config_overrides(cls, flag_values=flags.FLAGS) -> dict:
  """{field: value} for each flag of `cls` given on the command line (parsed)."""
  overrides = {}
  for field in dataclasses.fields(cls):
    if field.name not in flag_values or not flag_values[field.name].present:
      continue
    value = flag_values[field.name].value
    if isinstance(field.default, tuple):
      try:
        value = tuple(int(v) for v in value)
      except ValueError:
        raise UserError(f'--{field.name}={",".join(value)}: not a list of integers') from None
    overrides[field.name] = value
  return overrides


def config_argv(config, base=None) -> list[str]:
  """The flags that give `config` (a dataclass) from `base` (default: the class's defaults):
  one `--name=value` (`--name` / `--noname` for booleans) per field that differs."""
  base = base if base is not None else type(config)()
  argv = []
  for field in dataclasses.fields(config):
    value = getattr(config, field.name)
    if field.metadata.get('help') is None or value == getattr(base, field.name):
      continue
    if isinstance(value, bool):
      argv.append(f'--{field.name}' if value else f'--no{field.name}')
    elif isinstance(value, tuple):
      argv.append(f'--{field.name}={",".join(map(str, value))}')
    else:
      argv.append(f'--{field.name}={value}')
  return argv


# The flags several entry points share, defined once (each script calls those it has).


class RunSource:
  """`--run` or `--preset`, exactly one: the trained model an entry point uses."""

  def __init__(self, help_: str):
    self._run = flags.DEFINE_string('run', None, f'{help_} (or give --preset).')
    self._preset = flags.DEFINE_string(
        'preset', None, 'A trained model shipped with the package, instead of --run: one of '
        '`python -c "import srnn_tf; print(*srnn_tf.presets.list(), sep=chr(10))"`.')
    flags.register_multi_flags_validator(
        ['run', 'preset'], lambda given: (given['run'] is None) != (given['preset'] is None),
        message='give either --run (a run folder or .keras file) or --preset (a shipped model)')

  @property
  def preset(self) -> str | None:
    return self._preset.value

  @property
  def value(self) -> str:
    """The run's path, or `preset:<name>` (for messages)."""
    return self._run.value if self.preset is None else f'preset:{self.preset}'

  def exists(self) -> bool:
    """Whether it names something there (a missing one gets `load`'s message)."""
    if self.preset is not None:
      from srnn_tf import presets
      return self.preset in presets.names()
    return os.path.exists(self._run.value)

  def output_path(self, *parts: str) -> str:
    """`parts` under the default output folder, before loading: the run folder, or
    `./<preset>`."""
    from srnn_tf import finished
    home = self.preset if self.preset is not None else finished.workdir_of(self._run.value)
    return os.path.join(home, *parts)

  def load(self, threads: tuple[int, int] | None = None, compile: bool = False):  # noqa: A002
    """The run or preset as `finished.Run` (TensorFlow loads quietly here)."""
    if self.preset is None:
      return load_run(self._run.value, threads)
    from srnn_tf import presets
    presets.folder(self.preset)   # an unknown name is answered before TensorFlow loads
    import_tensorflow_quietly(threads)
    return presets.load_run(self.preset, compile=compile)


def run_flag(help_: str = 'Run directory or .keras file') -> RunSource:
  return RunSource(help_)


def data_dir_flag(help_: str = 'Data directory / download cache (default: a run\'s own, then '
                  '$SRNN_TF_DATA_DIR, then the user cache dir).'):
  return flags.DEFINE_string('data_dir', None, help_)


def output_dir_flag(default_help: str):
  return flags.DEFINE_string('output_dir', None, f'Output folder (default: {default_help}).')


def results_dir_flag(what: str = 'the results'):
  return flags.DEFINE_string('results_dir', '', f'Also copy {what} here, as <run name>.<file> '
                             '("": nowhere).')


def overwrite_results_flag():
  return flags.DEFINE_bool('overwrite_results', False, 'Replace copies in --results_dir that '
                           'hold other results.')


def seed_flag(help_: str = 'Random seed.'):
  return flags.DEFINE_integer('seed', 0, help_)


class GridFlags:
  """--frames_per_quarter, --tempo and --transpose_primer: the musical time MIDI files are
  read and written in, by default the grid of the run's corpus (`data.grid`)."""

  def __init__(self):
    self._fpq = flags.DEFINE_integer(
        'frames_per_quarter', None, 'Frames per quarter note of the MIDI read and written '
        '(default: the grid of the run\'s corpus, e.g. 1 for Boulanger\'s JSB, 2 for its other '
        'corpora).', lower_bound=1)
    self._tempo = flags.DEFINE_float('tempo', None, 'Quarter notes per minute of the MIDI '
                                     'written (default: the run\'s grid).', lower_bound=1e-3)
    self._transpose = flags.DEFINE_bool(
        'transpose_primer', True, 'Transpose a MIDI file read as input to C major / minor '
        'when the run\'s corpus was transposed so (Boulanger\'s corpora, srnn2016 JSB).')

  @property
  def transpose(self) -> bool:
    return self._transpose.value

  def apply(self, grid):
    """`grid` (a `data.grid.Grid`) with the flags given on top; a frame count per quarter
    note makes it a beat grid."""
    if self._fpq.value:
      grid = dataclasses.replace(grid, frames_per_quarter=self._fpq.value, beat_relative=True)
    if self._tempo.value:
      grid = dataclasses.replace(grid, tempo=self._tempo.value)
    return grid
