"""srnn_tf.data.safe_pickle: corpus pickles load (plain ints, numpy ints, Python 2 pickles);
anything that would run code or build other objects is refused, and nothing runs."""

import builtins
import faulthandler
import os
import pickle
import pickletools
import struct

import numpy as np
import pytest

from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import safe_pickle
from srnn_tf.data.errors import DataError

CORPUS = {'train': [[(60, 64), ()], [(21,), (108, 60, 64)]],
          'valid': [[(62,)]],
          'test': [[(), (70, 71)]]}


def _numpy_notes(data):
  return {k: [[tuple(np.int64(n) for n in frame) for frame in seq] for seq in seqs]
          for k, seqs in data.items()}


# ---------------------------------------------------------------------------------------------
# Pickles that run code when unpickled are refused, and the code does not run.


class _Reduce:
  """Pickles as `func(*args)`: what `pickle.loads` calls when it reads the object."""

  def __init__(self, func, args):
    self.func, self.args = func, args

  def __reduce__(self):
    return self.func, self.args


def _touch_code(marker):
  return f'open({str(marker)!r}, "w").close()'


_PAYLOADS = {
    'os.system': lambda m: _Reduce(os.system, (f'touch "{m}"',)),
    'builtins.exec': lambda m: _Reduce(builtins.exec, (_touch_code(m),)),
    'builtins.eval': lambda m: _Reduce(builtins.eval, (_touch_code(m),)),
}


@pytest.mark.parametrize('kind', sorted(_PAYLOADS))
@pytest.mark.parametrize('nested', [False, True], ids=['bare', 'inside-corpus'])
def test_code_running_pickle_is_refused_and_does_not_run(tmp_path, kind, nested):
  # The payload really runs code under plain pickle (so refusing it below means something).
  probe = tmp_path / 'probe'
  pickle.loads(pickle.dumps(_PAYLOADS[kind](probe)))
  assert probe.exists()

  marker = tmp_path / 'pwned'
  payload = _PAYLOADS[kind](marker)
  obj = {**CORPUS, 'test': [[(60,)], payload]} if nested else payload
  path = tmp_path / 'evil.pickle'
  path.write_bytes(pickle.dumps(obj))

  with pytest.raises(DataError) as e:
    safe_pickle.load(path)
  assert str(path) in str(e.value)
  assert kind.split('.')[-1] in str(e.value)  # names what it refused
  with pytest.raises(DataError, match='somewhere.pkl'):
    safe_pickle.loads(path.read_bytes(), source='somewhere.pkl')
  with pytest.raises(DataError) as e:  # through the corpus loader too
    corpus_lib.load_file(path)
  assert str(path) in str(e.value)
  assert not marker.exists()


@pytest.mark.parametrize('module', ['numpy._core.multiarray', 'numpy.core.multiarray'])
def test_numpy_array_pickle_is_refused(tmp_path, module):
  data = pickle.dumps(np.arange(3, dtype=np.int64), protocol=2)
  # numpy 2 writes numpy._core; numpy 1 and Python 2 pickles say numpy.core.
  data = data.replace(b'cnumpy._core.multiarray\n_reconstruct\n',
                      b'c' + module.encode() + b'\n_reconstruct\n')
  assert b'c' + module.encode() + b'\n_reconstruct\n' in data
  np.testing.assert_array_equal(pickle.loads(data), [0, 1, 2])  # a valid array pickle
  path = tmp_path / 'array.pkl'
  path.write_bytes(data)
  with pytest.raises(DataError, match='_reconstruct') as e:
    safe_pickle.load(path)
  assert str(path) in str(e.value)


@pytest.mark.parametrize('dtype', [np.dtype(object), np.dtype('V8'), np.dtype('U2')],
                         ids=['object', 'void', 'str'])
def test_numpy_scalar_of_other_dtypes_is_refused(tmp_path, dtype):
  # numpy's scalar constructor with an object dtype would turn the payload bytes into a
  # PyObject pointer: only bool/int/uint/float scalars are admitted.
  scalar = np._core.multiarray.scalar
  payload = _Reduce(scalar, (dtype, b'\x00' * dtype.itemsize))
  path = tmp_path / 'scalar.pkl'
  path.write_bytes(pickle.dumps({'train': [[(payload,)]]}, protocol=4))
  with pytest.raises(DataError) as e:
    safe_pickle.load(path)
  assert str(path) in str(e.value)


@pytest.mark.parametrize('args', [(np.dtype('i8'), [1, 2]), (np.dtype('i8'), None),
                                  (np.dtype('i8'), 12345)], ids=['list', 'none', 'int'])
def test_numpy_scalar_without_byte_payload_is_refused(args):
  payload = _Reduce(np._core.multiarray.scalar, args)
  with pytest.raises(DataError):
    safe_pickle.loads(pickle.dumps([payload], protocol=4))


# ---------------------------------------------------------------------------------------------
# What corpus pickles are made of loads.


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_int_pickle_round_trips(protocol):
  assert safe_pickle.loads(pickle.dumps(CORPUS, protocol=protocol)) == CORPUS


# Protocols 0-2 store the scalars' bytes as `_codecs.encode(str, 'latin1')` calls.
@pytest.mark.parametrize('protocol', range(6))
def test_numpy_int64_pickle_round_trips(tmp_path, protocol):
  data = _numpy_notes(CORPUS)
  path = tmp_path / 'np.pickle'
  path.write_bytes(pickle.dumps(data, protocol=protocol))
  loaded = safe_pickle.load(path)
  assert loaded == CORPUS
  note = loaded['train'][0][0][0]
  assert type(note) is np.int64 and note == 60
  # And the corpus built from it is the one built from plain ints.
  plain = tmp_path / 'plain.pickle'
  plain.write_bytes(pickle.dumps(CORPUS))
  _assert_same_corpus(corpus_lib.load_pickle(path), corpus_lib.load_pickle(plain))


def test_other_numeric_numpy_scalars_load():
  values = [np.int8(-3), np.uint16(7), np.int32(60), np.float32(1.5), np.float64(2.0),
            np.bool_(True)]
  loaded = safe_pickle.loads(pickle.dumps(values, protocol=5))
  assert loaded == values
  assert [type(v) for v in loaded] == [type(v) for v in values]


def _assert_same_corpus(a, b):
  assert a.splits.keys() == b.splits.keys()
  for split in a.splits:
    assert len(a.splits[split]) == len(b.splits[split])
    for ra, rb in zip(a.splits[split], b.splits[split]):
      np.testing.assert_array_equal(ra, rb)


# Python 2 pickles, written by hand opcode by opcode as Python 2's cPickle writes them: str
# is a byte string (U/S opcodes, decoded as latin1), long is LONG1, the numpy module is
# numpy.core.multiarray, and numpy scalars carry their payload as a byte string.


def _py2_str(s: str) -> bytes:
  b = s.encode('latin1')
  return b'U' + bytes([len(b)]) + b  # SHORT_BINSTRING


def _py2_pickle(obj, long_ints=False) -> bytes:
  """`obj` as Python 2 `cPickle.dumps(obj, 2)` writes it (without the memo)."""

  def dump(o):
    if isinstance(o, dict):
      return b'}(' + b''.join(dump(k) + dump(v) for k, v in o.items()) + b'u'
    if isinstance(o, list):
      return b']' + (b'(' + b''.join(map(dump, o)) + b'e' if o else b'')
    if isinstance(o, tuple):
      return b'(' + b''.join(map(dump, o)) + b't' if o else b')'
    if isinstance(o, str):
      return _py2_str(o)
    if isinstance(o, np.integer):
      dtype = (b'cnumpy\ndtype\n(' + _py2_str(o.dtype.str[1:]) + b'K\x00K\x01tR'
               + b'(K\x03' + _py2_str('<') + b'NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb')
      payload = _py2_str(o.astype(o.dtype.newbyteorder('<')).tobytes().decode('latin1'))
      return b'cnumpy.core.multiarray\nscalar\n(' + dtype + payload + b'tR'
    if isinstance(o, int):
      if long_ints:  # a Python 2 long: LONG1
        n = (o.bit_length() + 8) // 8
        return b'\x8a' + bytes([n]) + o.to_bytes(n, 'little', signed=True)
      return b'J' + struct.pack('<i', o)  # BININT
    raise TypeError(type(o))

  return b'\x80\x02' + dump(obj) + b'.'


@pytest.mark.parametrize('variant', ['int', 'long', 'numpy'])
def test_python2_pickles_load(tmp_path, variant):
  obj = _numpy_notes(CORPUS) if variant == 'numpy' else CORPUS
  data = _py2_pickle(obj, long_ints=variant == 'long')
  if variant == 'numpy':
    assert b'cnumpy.core.multiarray\nscalar' in data and b'_codecs' not in data
  assert pickle.loads(data, encoding='latin1') == CORPUS  # the hand-written pickle is valid
  path = tmp_path / 'py2.pickle'
  path.write_bytes(data)
  assert safe_pickle.load(path) == CORPUS
  plain = tmp_path / 'plain.pickle'
  plain.write_bytes(pickle.dumps(CORPUS))
  _assert_same_corpus(corpus_lib.load_pickle(path), corpus_lib.load_pickle(plain))


def test_python2_numpy_payload_is_latin1_bytes():
  # Payload bytes >= 0x80 (negative and large values) must come back byte for byte.
  values = [np.int64(-2), np.int64(1000), np.int16(-300), np.uint8(200), np.int32(-(2**31))]
  data = _py2_pickle(values)
  loaded = safe_pickle.loads(data)
  assert loaded == values
  assert [v.dtype for v in loaded] == [v.dtype for v in values]


def test_python2_protocol0_text_pickle_loads():
  # cPickle.dumps({'train': [[(60, 64L), ()]]}) in Python 2, protocol 0.
  data = b"(dp0\nS'train'\np1\n(lp2\n(lp3\n(I60\nL64L\ntp4\na(tp5\naas."
  assert safe_pickle.loads(data) == {'train': [[(60, 64), ()]]}


# ---------------------------------------------------------------------------------------------
# Corrupt input.


@pytest.mark.parametrize('cut', [1, 10, 0.5, -1])
def test_truncated_pickle_is_a_data_error(tmp_path, cut):
  data = pickle.dumps(_numpy_notes(CORPUS), protocol=4)
  n = int(len(data) * cut) if isinstance(cut, float) else cut
  path = tmp_path / 'cut.pickle'
  path.write_bytes(data[:n])
  with pytest.raises(DataError) as e:
    safe_pickle.load(path)
  assert str(path) in str(e.value)


@pytest.mark.parametrize('data', [
    b'', b'this is not a pickle', b'\x80\x05\xff\xfe\xfd garbage', bytes(range(256)),
    b'PK\x03\x04' + bytes(100),  # a zip (npz) header
    b'MThd\x00\x00\x00\x06',     # a MIDI header
], ids=['empty', 'text', 'binary', 'bytes', 'zip', 'midi'])
def test_garbage_is_a_data_error(tmp_path, data):
  path = tmp_path / 'garbage.pkl'
  path.write_bytes(data)
  with pytest.raises(DataError) as e:
    safe_pickle.load(path)
  assert str(path) in str(e.value)
  with pytest.raises(DataError, match='<bytes>'):
    safe_pickle.loads(data)


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_seeded_corruptions_raise_only_data_errors(protocol):
  """Random byte edits of a valid plain-int pickle: it loads or it is a DataError, never
  another exception. (Edits that reach numpy's dtype are below: some crash the interpreter.)"""
  base = pickle.dumps(CORPUS, protocol=protocol)
  rng = np.random.default_rng(protocol)
  errors = 0
  for _ in range(500):
    data = bytearray(base)
    for _ in range(rng.integers(1, 4)):
      pos = int(rng.integers(0, len(data)))
      op = rng.integers(0, 3)
      if op == 0:
        data[pos] = rng.integers(0, 256)
      elif op == 1:
        del data[pos]
      else:
        data.insert(pos, rng.integers(0, 256))
    if _huge_memo_index(bytes(data)):
      continue  # see test_huge_memo_index_does_not_allocate_it
    try:
      safe_pickle.loads(bytes(data))
    except DataError:
      errors += 1
  assert errors > 100  # the edits do break the pickle


def _huge_memo_index(data: bytes) -> bool:
  try:
    for op, arg, _ in pickletools.genops(data):
      if op.name in ('PUT', 'BINPUT', 'LONG_BINPUT', 'GET', 'BINGET', 'LONG_BINGET') and \
          int(arg) > 1000:
        return True
  except Exception:  # genops stops where the unpickler would: at the first bad opcode
    pass
  return False


def _exit_status_in_child(fn) -> int:
  """Runs `fn` in a forked child (so a crash cannot take pytest down); its exit status."""
  pid = os.fork()
  if pid == 0:  # pragma: no cover (child)
    faulthandler.disable()  # a crash is the expected failure: no stack dump
    code = 3
    try:
      fn()
      code = 0
    except DataError:
      code = 1
    except BaseException:
      code = 2
    finally:
      os._exit(code)
  _, status = os.waitpid(pid, 0)
  return os.waitstatus_to_exitcode(status)


_INT64 = pickle.dumps(np.int64(5), protocol=4)
_STATE = b'(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t'


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
@pytest.mark.parametrize('old,new,outcomes', [
    # Type codes numpy's dtype state handling trusts blindly: datetime64 with the state of an
    # int segfaulted numpy's __setstate__. Only bool/int/uint/float may get through.
    (b'\x8c\x02i8', b'\x8c\x02M8', {1}),
    (b'\x8c\x02i8', b'\x8c\x02m8', {1}),
    (b'\x8c\x02i8', b'\x8c\x02O8', {1}),
    # Corrupt states of an allowed dtype (a 9th item made __setstate__ raise SystemError):
    # a value or a DataError, nothing else.
    (b'NNN', b'NN\x88N', {0, 1}),
    (b'NNN', b'N\x88NN', {0, 1}),
    (b'NNN', b'NNN\x88', {0, 1}),
    (b'NNN', b'\x88NN', {0, 1}),
    (b'\x8c\x01<', b'\x8c\x01>', {0, 1}),
    (_STATE, _STATE.replace(b'K\x00t', b'K\x3ft'), {0, 1}),  # flags: "holds objects" etc.
    (_STATE, b'(K\x03\x8c\x01<\x94NNNJ\x10\x00\x00\x00J\x10\x00\x00\x00K\x00t', {0, 1}),
], ids=['M8', 'm8', 'O8', 'state9a', 'state9b', 'state9c', 'subarray', 'byteorder', 'flags',
        'itemsize'])
def test_crafted_dtypes_do_not_crash(old, new, outcomes):
  assert _INT64.count(old) == 1
  evil = _INT64.replace(old, new)

  def load_and_check():
    value = safe_pickle.loads(evil)
    # Whatever loads is a plain numeric numpy scalar, and numpy's own int64 is untouched.
    assert isinstance(value, np.generic) and value.dtype.kind in 'biuf', repr(value)
    assert np.dtype('i8').itemsize == 8 and np.dtype('i8').str == '<i8'
    assert np.array_equal(np.arange(3, dtype=np.int64), [0, 1, 2])

  # 0: loaded; 1: DataError; 2: another exception; negative: killed by a signal (-11: SIGSEGV).
  assert _exit_status_in_child(load_and_check) in outcomes


@pytest.mark.skipif(not os.path.exists('/proc/self/statm'), reason='needs Linux /proc')
@pytest.mark.parametrize('index', [0x7f000000, 0x0fffffff])
def test_huge_memo_index_does_not_allocate_it(index):
  """A valid pickle that memoizes at a huge index (`LONG_BINPUT`): the C unpickler allocates
  its memo table up to the index (GBs from 4 corrupt bytes). It must load, within 1 GB."""
  import resource  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  data = b'\x80\x02]r' + struct.pack('<I', index) + b'.'
  assert pickle.loads(data[:3] + b'.') == []

  def load_within_1gb():
    with open('/proc/self/statm') as f:
      used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + (1 << 30), resource.RLIM_INFINITY))
    start = time.monotonic()
    assert safe_pickle.loads(data) == []
    assert time.monotonic() - start < 2

  assert _exit_status_in_child(load_within_1gb) == 0  # 1: DataError (MemoryError); 2: slow


def test_codecs_encode_is_admitted_only_as_str_to_latin1():
  rot13 = b'\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R.'
  with pytest.raises(DataError, match='_codecs.encode'):
    safe_pickle.loads(rot13)
  latin1 = rot13.replace(b'\x05\x00\x00\x00rot13', b'\x06\x00\x00\x00latin1')
  assert safe_pickle.loads(latin1) == b'x'
