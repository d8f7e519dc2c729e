"""The errors a user can cause and fix. Entry points print their message as one line
(`srnn_tf.cli`) and exit with the error's `exit_status` (1 unless said below); anything else is
a bug and keeps its traceback."""

import errno


class UserError(Exception):
  """Bad input, a bad argument, or a run folder in a state that cannot go on. The message
  names the file or the argument and says what is wrong."""
  exit_status = 1


class RunDirError(UserError):
  """A run directory that is busy, inconsistent, or does not match the requested run."""


class RunBusyError(RunDirError):
  """The run directory is held by another process (its lock): nothing is wrong, it is only
  taken. Exit status 75 (`EX_TEMPFAIL`, sysexits.h: try again later), so that a sweep or a
  second queue lane can tell it from a failure and move on to the next run."""
  exit_status = 75


class NonFiniteLossError(UserError, FloatingPointError):
  """Training produced a NaN or inf; the run stopped before saving anything."""


class LimitError(UserError):
  """An input larger than a stated limit; the message names the flag that raises it."""


class DiskFullError(UserError, OSError):
  """No space left (or a file-size limit reached) while writing a file."""


NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def is_no_space(error: Exception) -> bool:
  """Whether `error` (an `OSError`, or TensorFlow's file errors) is a full disk: h5py and
  TensorFlow report it in the message, without errno."""
  return (getattr(error, 'errno', None) in NO_SPACE or 'No space left' in str(error) or
          'errno = 28' in str(error))


def disk_full(error: Exception, path: str) -> DiskFullError:
  return DiskFullError(f'disk full while writing {path}')
