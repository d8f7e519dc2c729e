"""What every entry point shares: flags errors and the package's `UserError`s as one line on
stderr with a non-zero exit status (2 for a bad flag, 1 otherwise), and TensorFlow quiet (its
INFO log lines, e.g. "Assets written to", are dropped; srnn_tf's own and every warning stay).

    if __name__ == '__main__':
      cli.run(main)
"""

import logging as std_logging
import os
import sys
import warnings

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

from srnn_tf.errors import UserError, is_no_space  # noqa: E402


def fail(message: str, status: int = 1) -> int:
  print(f'error: {message}', file=sys.stderr)
  return status


def _parse(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(fail(str(e), 2))


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _ours_or_warning(record) -> bool:
  return record.levelno >= std_logging.WARNING or record.pathname.startswith(_PACKAGE)


def run(main) -> None:
  """`app.run(main)` with one-line errors."""
  logging.get_absl_logger().addFilter(_ours_or_warning)
  std_logging.getLogger('tensorflow').setLevel(std_logging.WARNING)   # TF's own Python logger
  # Keras warns on every fit() that tf.data input is not reshuffled by it: ours shuffles itself.
  warnings.filterwarnings('ignore', message='`shuffle=True` was passed')

  def guarded(argv):
    try:
      return main(argv)
    except UserError as e:
      return fail(str(e))
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
