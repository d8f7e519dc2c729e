"""The errors a user can cause and fix. Entry points print their message as one line
(`srnn_tf.cli`) and exit with status 1; anything else is a bug and keeps its traceback."""

import errno


class UserError(Exception):
  """Bad input, a bad argument, or a run folder in a state that cannot go on. The message
  names the file or the argument and says what is wrong."""


class RunDirError(UserError):
  """A run directory that is busy, inconsistent, or does not match the requested run."""


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
