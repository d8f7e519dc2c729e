"""The data directory: where corpus files are found, and downloaded to when missing.

Resolution order: an explicit `data_dir` argument (the scripts' `--data_dir` flag), then the
environment variable ``SRNN_TF_DATA_DIR``, then the user's cache directory
(``~/.cache/srnn_tf`` on Linux). The layout is ``boulanger/<canonical file name>`` and
``srnn2016/<npz name>``, so a local copy laid out that way (such as ``../shared/data``) works
as the cache as it is.
"""

import hashlib
import http.client
import os
import pathlib
import tempfile
import urllib.error
import urllib.request

import platformdirs
from absl import logging

from srnn_tf.data import registry
from srnn_tf.data.errors import DataError
from srnn_tf.data.registry import CorpusFile

ENV_VAR = 'SRNN_TF_DATA_DIR'
_TIMEOUT_S = 60


def data_dir(explicit: str | os.PathLike | None = None) -> pathlib.Path:
  """Returns the data directory (see the module docstring for the order of precedence)."""
  if explicit:
    return pathlib.Path(explicit).expanduser()
  if os.environ.get(ENV_VAR):
    return pathlib.Path(os.environ[ENV_VAR]).expanduser()
  return pathlib.Path(platformdirs.user_cache_dir('srnn_tf'))


def sha256sum(path: str | os.PathLike) -> str:
  h = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      h.update(block)
  return h.hexdigest()


# Files already verified in this process, by (path, size, modification time): a corpus is read
# many times by the tests and the experiments, and hashing it once is enough.
_VERIFIED = set()


def verify(path: pathlib.Path, spec: CorpusFile, where: str = '') -> None:
  """Raises `DataError` if the file at `path` does not have `spec`'s sha256 (a changed or
  damaged copy is never read). Hashing a corpus file takes milliseconds."""
  if not spec.sha256:
    return
  stat = path.stat()
  key = (str(path), stat.st_size, stat.st_mtime_ns)
  if key in _VERIFIED:
    return
  try:
    got = sha256sum(path)
  except OSError as e:
    raise DataError(f'{path}: unreadable ({e.strerror or type(e).__name__}): delete it and '
                    f'run `srnn-data download` again. {where}'.rstrip()) from None
  if got != spec.sha256:
    raise DataError(f'{path}: sha256 {got[:12]}..., expected {spec.sha256[:12]}... (the file '
                    'is changed or damaged): delete it and run `srnn-data download` again. '
                    f'{where}'.rstrip())
  _VERIFIED.add(key)


def fetch(spec: CorpusFile, directory: str | os.PathLike | None = None,
          download: bool = True) -> pathlib.Path:
  """Returns the local path of `spec`'s file, downloading it into the cache if missing.

  The download goes to a temporary file beside the target, is checked against the known
  sha256, and only then renamed into place, so an interrupted download leaves nothing behind.
  A file already there is checked against the same sha256 before it is used (`verify`).

  Raises:
    DataError: the file is missing and cannot be downloaded (the message gives the URL and
      where to put the file by hand), or its hash is wrong (a download's, or a cached copy's).
  """
  # Hand-written rather than `pooch.retrieve`, which does the download, hash and rename as
  # this does but replaces an existing file whose hash differs by downloading again: here a
  # local directory standing in for the cache (../shared/data, a user's copy) is never
  # overwritten, a changed file is refused with one line instead (`verify`).
  root = data_dir(directory)
  path = root / spec.relpath
  where = (f'Download it yourself and save it as {path} (or point --data_dir or '
           f'${ENV_VAR} at a directory holding {spec.relpath}).')
  if path.exists():
    verify(path, spec, where)
    return path
  if not download:
    raise DataError(f'{path}: corpus file not found. {where}')
  path.parent.mkdir(parents=True, exist_ok=True)
  logging.info('Downloading %s to %s', spec.url, path)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.' + path.name, suffix='.part')
  try:
    with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(spec.url, timeout=_TIMEOUT_S) as r:
      while block := r.read(1 << 20):
        out.write(block)
    if spec.sha256 and (got := sha256sum(tmp)) != spec.sha256:
      raise DataError(f'{spec.url}: downloaded file has sha256 {got}, expected {spec.sha256}. '
                      f'{where}')
    os.replace(tmp, path)
  except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as e:
    raise DataError(f'Could not download {spec.url} ({e}). {where}') from None
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def download(names, versions, directory: str | os.PathLike | None = None) -> list[pathlib.Path]:
  """Fetches the corpus file of each of `names` x `versions` into the data directory (files
  already there are kept), printing where each is: `srnn-data download`.

  Returns:
    The local paths, in order.
  """
  paths = []
  for name in names:
    for version in versions:
      path = fetch(registry.corpus_file(name, version), directory)
      print(f'{name} ({version}): {path}')
      paths.append(path)
  return paths
