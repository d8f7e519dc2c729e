"""Files that a kill at any moment leaves whole: atomic writes (a temporary beside the file,
renamed into place), JSON read back as None when damaged, advisory locks, and the failpoints
that let tests kill a writer at an exact moment. Generic: `rundir` builds the run folder's
protocol on them.
"""

import contextlib
import errno
import fcntl
import json
import math
import os
import shutil
import signal
import tempfile

import numpy as np

from srnn_tf.errors import RunBusyError, UserError, disk_full, is_no_space

def umask() -> int:
  """The process's umask (read without changing it)."""
  mask = os.umask(0)
  os.umask(mask)
  return mask


TMP_PREFIX = '.tmp-'


@contextlib.contextmanager
def atomic_path(path: str):
  """Yields a temporary path beside `path` (`.tmp-<random>-<name>`, so it keeps the name's
  extension); on success it replaces `path` (mode 0666 less the
  umask, as `open` would create it); on any failure it is removed. A full disk raises
  `DiskFullError` naming `path`."""
  folder = os.path.dirname(path) or '.'
  try:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX,
                               suffix='-' + os.path.basename(path))
    os.close(fd)
  except OSError as e:
    if is_no_space(e):
      raise disk_full(e, path) from None
    raise
  try:
    yield tmp
    os.chmod(tmp, 0o666 & ~umask())
    failpoint('write:' + os.path.basename(path))
    os.replace(tmp, path)
  except OSError as e:
    if is_no_space(e):
      raise disk_full(e, path) from None
    raise
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def weights_file_bytes(model) -> int:
  """An upper bound on the size of `model.save_weights`'s file (see `save_weights`)."""
  variables = [*model.weights, *(model.optimizer.variables if model.optimizer else [])]
  return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize + 2048 for v in variables) + 65536


def save_weights(model, path: str) -> None:
  """`model.save_weights(path)` (its weights and optimizer state, a `.weights.h5` file)
  through `atomic_path`, refused with `DiskFullError` if the disk lacks room for it.

  h5py meets a full disk half-way through the file with errors that it reports only as its
  objects are freed: a traceback for each on stderr, then a crash at exit instead of the
  one-line error. So the write starts only where it fits: the variables' bytes, plus 2 KiB
  of HDF5 headers per variable and 64 KiB for the file (measured: the small preset's 275 KiB
  file is 0.62 of the estimate, the paper SRNN's 37.4 MiB 0.996). A disk filled by another
  process during the write still gets the noise.
  """
  if shutil.disk_usage(os.path.dirname(path) or '.').free < weights_file_bytes(model):
    raise disk_full(OSError(errno.ENOSPC, 'No space left on device'), path)
  with atomic_path(path) as tmp:
    model.save_weights(tmp)


def write_text(path: str, text: str) -> None:
  with atomic_path(path) as tmp:
    with open(tmp, 'w') as f:
      f.write(text)


def write_json(path: str, obj) -> None:
  write_text(path, json.dumps(obj, indent=2))


def read_json(path: str):
  """The JSON in `path`, or None if it is missing, truncated or not JSON."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def check_output_file(path: str, flag: str = '--output') -> None:
  """Says in one line, before any work, why file `path` cannot be written."""
  folder = os.path.dirname(os.path.abspath(path))
  if os.path.isdir(path):
    raise UserError(f'{flag}={path}: is a folder, not a file')
  if not os.path.isdir(folder):
    raise UserError(f'{flag}={path}: folder {folder} does not exist')
  if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
    raise UserError(f'{flag}={path}: not writable')


def _take(f) -> str | None:
  """Takes the open lock file `f`'s lock without waiting: None, or who holds it."""
  try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return None
  except BlockingIOError:
    f.seek(0)
    return f.read().strip() or 'another process'


@contextlib.contextmanager
def exclusive(path: str, hint: str):
  """Holds the lock file `path` (an advisory `flock`, released when this process ends however
  it ends), writing `process <pid>` into it. Held elsewhere: `RunBusyError` naming the holder
  and `hint` (what to do)."""
  f = open(path, 'a+')
  try:
    if owner := _take(f):
      raise RunBusyError(f'{os.path.dirname(path) or "."}: in use by {owner}; {hint}')
    f.seek(0)
    f.truncate()
    f.write(f'process {os.getpid()}')
    f.flush()
    yield
  finally:
    f.close()   # releases the lock


def holder(path: str) -> str | None:
  """Who holds the lock file `path` (`process <pid>`), or None when nobody does or it does not
  exist. A probe: it takes a free lock for an instant, so a process refused at that instant
  gets `RunBusyError` and can try again."""
  if not os.path.exists(path):
    return None
  with open(path, 'a+') as f:
    return _take(f)   # closing the file releases a lock taken here


def failpoint(name: str) -> None:
  """Kills the process (SIGKILL) at `name` when $SRNN_TF_FAILPOINT says so: `name`, or
  `name@N` for its N-th time. For the tests that kill a run at exact moments."""
  wanted = os.environ.get('SRNN_TF_FAILPOINT')
  if not wanted or wanted.split('@')[0] != name:
    return
  _FAILPOINT_HITS[name] = _FAILPOINT_HITS.get(name, 0) + 1
  if _FAILPOINT_HITS[name] == int(wanted.partition('@')[2] or 1):
    os.kill(os.getpid(), signal.SIGKILL)


_FAILPOINT_HITS = {}


def remove_temporaries(folder: str) -> None:
  """Removes the temporary files and folders a killed writer left in `folder` (`atomic_path`'s
  and the SavedModel's `.tmp-*`). Only under the folder's lock: nobody else is writing them."""
  if not os.path.isdir(folder):
    return
  for name in os.listdir(folder):
    if name.startswith(TMP_PREFIX):
      path = os.path.join(folder, name)
      shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
