"""Loading pickles without letting them run code.

A pickle is a program: `pickle.load` will call any importable function the file names
(`os.system`, say). Corpus pickles need none of that: they hold dicts, lists, tuples and ints,
or numpy integer scalars in some copies found in the wild. `load` admits exactly those.

It also uses the pure-Python unpickler: the C one preallocates its memo table from the index
a file asks for, so a few corrupt bytes (`LONG_BINPUT 0x5d945d94`) can make it allocate
tens of GB; the Python one keeps the memo in a dict. It is about 4x slower (2.5 s for the
largest corpus, MuseData), a price paid once per run.
"""

import io
import pickle
import struct

import numpy as np

from srnn_tf.data.errors import DataError

_NUMPY_SCALAR_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')
_ALLOWED_SCALAR_KINDS = 'biuf'  # bool, signed/unsigned int, float


def _numpy_scalar(dtype, data=None):
  """`numpy.core.multiarray.scalar`, restricted to plain numeric dtypes."""
  if not isinstance(dtype, np.dtype) or dtype.kind not in _ALLOWED_SCALAR_KINDS:
    raise pickle.UnpicklingError(f'refusing numpy scalar of dtype {dtype!r}')
  if isinstance(data, str):  # a Python 2 pickle's byte string, decoded as latin1
    data = data.encode('latin1')
  if not isinstance(data, bytes):
    raise pickle.UnpicklingError('refusing numpy scalar without a byte payload')
  return np.frombuffer(data, dtype=dtype, count=1)[0]


def _numpy_dtype(name, align=False, copy=True):
  """`numpy.dtype`, restricted to plain numeric type codes such as 'i8' or 'f4'."""
  del align, copy
  if not isinstance(name, str) or len(name) > 4 or name[:1] not in _ALLOWED_SCALAR_KINDS:
    raise pickle.UnpicklingError(f'refusing numpy dtype {name!r}')
  return np.dtype(name)


def _codecs_encode(text, encoding='utf-8'):
  """`_codecs.encode` as Python 3 uses it in protocols 0-2 to store bytes (latin1 only)."""
  if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
    raise pickle.UnpicklingError('refusing _codecs.encode beyond str -> latin1 bytes')
  return text.encode('latin1')


class _RestrictedUnpickler(pickle._Unpickler):  # pylint: disable=protected-access
  """Resolves only numpy's scalar constructor and dtype; every other global is refused."""

  def find_class(self, module, name):
    if module in _NUMPY_SCALAR_MODULES and name == 'scalar':
      return _numpy_scalar
    if module == 'numpy' and name == 'dtype':
      return _numpy_dtype
    if module == '_codecs' and name == 'encode':
      return _codecs_encode
    if module in ('builtins', '__builtin__') and name in ('set', 'frozenset'):
      return {'set': set, 'frozenset': frozenset}[name]
    raise pickle.UnpicklingError(f'refusing to load global {module}.{name}')


def loads(data: bytes, source: str = '<bytes>'):
  """Unpickles `data`, admitting only containers, numbers, strings and numpy scalars.

  Python 2 pickles are read with `encoding='latin1'`, as numpy's own loaders do.

  Raises:
    DataError: naming `source`, if the pickle is corrupt or asks for anything else.
  """
  try:
    return _RestrictedUnpickler(io.BytesIO(data), encoding='latin1').load()
  except pickle.UnpicklingError as e:
    raise DataError(f'{source}: unsafe or corrupt pickle: {e}') from None
  except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
          MemoryError, UnicodeDecodeError, OverflowError, struct.error, SystemError) as e:
    raise DataError(f'{source}: not a readable pickle ({type(e).__name__}: {e})') from None


def load(path) -> object:
  """Reads and safely unpickles the file at `path` (see `loads`)."""
  with open(path, 'rb') as f:
    return loads(f.read(), source=str(path))
