"""The corpora: `describe` reproduces the data README's counts; loaders validate what they
read and name the file and the problem; the cache directory and offline downloads."""

import http.client
import json
import os
import pathlib
import pickle
import subprocess
import sys
import urllib.error
import zipfile

import numpy as np
import platformdirs
import pytest

from srnn_tf.data import cache
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import registry
from srnn_tf.data.errors import DataError

ROOT = pathlib.Path(__file__).resolve().parents[1]

# ../shared/data/README.md: (sequences, frames) per split.
BOULANGER = {
    'jsb': ('JSB Chorales.pickle',
            {'train': (229, 13_807), 'valid': (76, 4_602), 'test': (77, 4_725)}),
    'muse': ('MuseData.pickle',
             {'train': (524, 245_202), 'valid': (135, 82_755), 'test': (124, 64_339)}),
    'nottingham': ('Nottingham.pickle',
                   {'train': (694, 176_561), 'valid': (173, 45_513), 'test': (170, 44_463)}),
    'piano': ('Piano-midi.de.pickle',
              {'train': (87, 75_911), 'valid': (12, 8_540), 'test': (25, 19_036)}),
}
# ../shared/data/README.md: test sequences and frames (sum of mask). The README gives no
# train/valid counts: the rows of x_train/x_valid (100-frame chunks) are the npz shapes, which
# the test below also reads from the files' headers.
SRNN2016 = {
    'jsb': {'test': (77, 9_396), 'rows': {'train': 272, 'valid': 80}},
    'muse': {'test': (124, 67_391), 'rows': {'train': 2480, 'valid': 784}},
    'nottingham': {'test': (170, 37_062), 'rows': {'train': 1472, 'valid': 368}},
    'piano': {'test': (25, 17_328), 'rows': {'train': 704, 'valid': 96}},
}


# ---------------------------------------------------------------------------------------------
# `python -m srnn_tf.data describe`, run as a command: all runs start at once (a module
# fixture) and the tests read their results.


def _env():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  env.pop(cache.ENV_VAR, None)
  return env


def _bad_inputs(folder: pathlib.Path) -> dict[str, pathlib.Path]:
  garbage = folder / 'x.pickle'
  garbage.write_bytes(b'this is not a pickle \x00\xff\x13' * 10)
  empty_midi = folder / 'x.mid'
  empty_midi.write_bytes(b'')
  return {'garbage': garbage, 'empty-midi': empty_midi, 'missing': folder / 'missing.pkl'}


def _describe_cases(bad: dict[str, pathlib.Path], data) -> dict[str, list[str]]:
  cases = {f'bad-{k}': ['describe', f'--file={p}'] for k, p in bad.items()}
  if data is not None:
    for name, (fname, _) in BOULANGER.items():
      cases[f'boulanger-{name}'] = ['describe', '--json',
                                    f'--file={data / "boulanger" / fname}']
    for name in SRNN2016:
      cases[f'srnn2016-{name}'] = ['describe', '--json', f'--dataset={name}',
                                   '--data_version=srnn2016', f'--data_dir={data}']
  return cases


_NO_TF = ('import sys, srnn_tf.data.__main__, srnn_tf.data.midi; '
          'print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))')


@pytest.fixture(scope='module')
def describe_runs(request, tmp_path_factory):
  """{case: {'rc', 'stdout', 'stderr'}} for every describe case, run as processes."""
  try:
    data = request.getfixturevalue('data_dir')
  except pytest.skip.Exception:  # no real data here: the bad-input cases still run
    data = None
  bad = _bad_inputs(tmp_path_factory.mktemp('bad'))
  commands = {case: [sys.executable, '-m', 'srnn_tf.data', *argv]
              for case, argv in _describe_cases(bad, data).items()}
  commands['imports'] = [sys.executable, '-c', _NO_TF]
  runs, running = {}, []

  def finish(case, proc):
    stdout, stderr = proc.communicate(timeout=300)
    runs[case] = {'rc': proc.returncode, 'stdout': stdout, 'stderr': stderr}

  for case, cmd in commands.items():  # at most 4 at a time (memory: muse's npz is large)
    if len(running) == 4:
      finish(*running.pop(0))
    running.append((case, subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True)))
  for case, proc in running:
    finish(case, proc)
  runs['bad-files'] = bad
  return runs


def _describe_json(run) -> dict:
  assert run['rc'] == 0, run['stderr'][-3000:]
  return json.loads(run['stdout'])


@pytest.mark.parametrize('name', sorted(BOULANGER))
def test_describe_boulanger_counts_match_readme(data_dir, describe_runs, name):
  fname, expected = BOULANGER[name]
  out = _describe_json(describe_runs[f'boulanger-{name}'])
  assert out['source'] == str(data_dir / 'boulanger' / fname)
  assert out['out_of_range_notes'] == 0
  assert sorted(out['splits']) == ['test', 'train', 'valid']
  for split, (sequences, frames) in expected.items():
    s = out['splits'][split]
    assert (s['sequences'], s['frames']) == (sequences, frames), split
    assert 'chunks' not in s
    assert 21 <= s['lowest_note'] <= s['highest_note'] <= 108
    assert 1 < s['notes_per_frame'] < 6


def _npz_rows(path, key) -> int:
  """Rows of array `key` in an npz, from its header (without reading the data)."""
  with zipfile.ZipFile(path) as z, z.open(f'{key}.npy') as f:
    version = np.lib.format.read_magic(f)
    shape, _, _ = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                   else np.lib.format.read_array_header_2_0(f))
  return shape[0]


@pytest.mark.parametrize('name', sorted(SRNN2016))
def test_describe_srnn2016_counts_match_readme(data_dir, describe_runs, name):
  expected = SRNN2016[name]
  out = _describe_json(describe_runs[f'srnn2016-{name}'])
  path = data_dir / registry.corpus_file(name, 'srnn2016').relpath
  assert out['name'] == name
  assert out['source'] == str(path)
  test = out['splits']['test']
  assert (test['sequences'], test['frames']) == expected['test']
  assert 'chunks' not in test
  for split, rows in expected['rows'].items():
    assert _npz_rows(path, f'x_{split}') == rows
    s = out['splits'][split]
    assert s['chunks'] == rows
    assert s['frames'] == rows * 100
    assert s['sequences'] == 16  # kept as the release's 16 stateful streams


@pytest.mark.parametrize('case', ['garbage', 'empty-midi', 'missing'])
def test_describe_bad_input_is_one_line_and_status_1(describe_runs, case):
  run = describe_runs[f'bad-{case}']
  path = describe_runs['bad-files'][case]
  assert run['rc'] == 1
  assert run['stdout'] == ''
  assert 'Traceback' not in run['stderr']
  lines = run['stderr'].splitlines()
  assert len(lines) == 1, run['stderr']
  assert str(path) in lines[0]


def test_describe_does_not_import_tensorflow(describe_runs):
  # It would make every describe take seconds and print TF's log lines on stderr.
  run = describe_runs['imports']
  assert run['rc'] == 0, run['stderr']
  assert run['stdout'].strip() == '[]'


# ---------------------------------------------------------------------------------------------
# Real data, in process.


def _assert_same_splits(a, b):
  assert a.splits.keys() == b.splits.keys()
  for split in a.splits:
    assert len(a.splits[split]) == len(b.splits[split]), split
    for i, (ra, rb) in enumerate(zip(a.splits[split], b.splits[split])):
      assert ra.dtype == rb.dtype == np.uint8
      assert np.array_equal(ra, rb), (split, i)


def test_numpy_int_pickle_equals_canonical_jsb(data_dir):
  quarter = data_dir / 'boulanger' / 'jsb-chorales-quarter.pkl'
  raw = corpus_lib.safe_pickle.load(quarter)
  note = next(n for frame in raw['train'][0] for n in frame)
  assert isinstance(note, np.integer) and not isinstance(note, int)  # numpy notes indeed
  _assert_same_splits(corpus_lib.load_file(quarter),
                      corpus_lib.load_corpus('jsb', data_dir=data_dir))


def test_load_corpus_default_version_is_boulanger(data_dir):
  c = corpus_lib.load_corpus('jsb', data_dir=data_dir, download=False)
  assert c.name == 'jsb'
  assert c.source == str(data_dir / 'boulanger' / 'JSB Chorales.pickle')
  assert [len(c.splits[s]) for s in registry.SPLITS] == [229, 76, 77]
  assert all(r.dtype == np.uint8 and r.shape[1] == 88 and r.max() == 1
             for s in c.splits.values() for r in s)


def test_srnn2016_streams_rechunk_to_the_release_rows(data_dir):
  c = corpus_lib.load_corpus('jsb', 'srnn2016', data_dir=data_dir)
  path = data_dir / 'srnn2016' / 'jsb_raw_batchsize16_seqlen100.npz'
  with np.load(path) as f:
    release = {k: f[k] for k in ('x_train', 'x_valid', 'x_test', 'mask_test')}
  for split in ('train', 'valid'):
    streams = c.splits[split]
    x = release[f'x_{split}']
    assert len(streams) == 16
    assert {len(s) for s in streams} == {len(x) // 16 * 100}
    # Batch k holds chunk k of every stream: row b of batch k+1 continues row b of batch k.
    rechunked = np.stack([s.reshape(-1, 100, 88) for s in streams], axis=1).reshape(-1, 100, 88)
    assert np.array_equal(rechunked, x)
    for k in range(3):
      for b in (0, 7, 15):
        assert np.array_equal(streams[b][k * 100:(k + 1) * 100], x[k * 16 + b])
  lengths = release['mask_test'].sum(1).astype(int)
  assert [len(s) for s in c.splits['test']] == list(lengths)
  for s, x, n in zip(c.splits['test'], release['x_test'], lengths):
    assert np.array_equal(s, x[:n])


@pytest.mark.parametrize('name,leaky', [('jsb', 77), ('nottingham', 66), ('muse', 57),
                                        ('piano', 18)])
def test_srnn2016_first_inputs_are_the_releases(data_dir, name, leaky):
  """The release's u_1 is the first target frame in only some pieces; we keep its own."""
  c = corpus_lib.load_corpus(name, 'srnn2016', data_dir=data_dir)
  with np.load(data_dir / 'srnn2016' / f'{name}_raw_batchsize16_seqlen100.npz') as f:
    u_first = f['u_test'][:, 0]
  first = c.first_inputs['test']
  assert len(first) == len(c.splits['test']) == len(u_first)
  assert all(v.dtype == np.uint8 and v.shape == (88,) for v in first)
  np.testing.assert_array_equal(np.stack(first), u_first)
  assert sum(np.array_equal(u, s[0]) for u, s in zip(first, c.splits['test'])) == leaky


# ---------------------------------------------------------------------------------------------
# Validation of crafted files: DataError naming the file and the problem.


def _pickle_file(tmp_path, data, name='bad.pickle'):
  path = tmp_path / name
  path.write_bytes(pickle.dumps(data))
  return path


def _corpus(**overrides):
  base = {'train': [[(60, 64), ()], [(21,), (108,)]], 'valid': [[(62,)]], 'test': [[(70, 71)]]}
  return {**base, **overrides}


def _raises(path, *fragments):
  with pytest.raises(DataError) as e:
    corpus_lib.load_file(path)
  message = str(e.value)
  assert str(path) in message
  for fragment in fragments:
    assert fragment in message, message
  return message


def test_valid_crafted_pickle_loads(tmp_path):
  c = corpus_lib.load_file(_pickle_file(tmp_path, _corpus()))
  roll = c.splits['train'][1]
  assert roll.shape == (2, 88) and roll[0, 0] == 1 and roll[1, 87] == 1 and roll.sum() == 2
  assert c.splits['train'][0][1].sum() == 0  # an empty frame is a silent frame


def test_pickle_missing_split(tmp_path):
  data = _corpus()
  del data['test']
  _raises(_pickle_file(tmp_path, data), "'test'")


def test_pickle_not_a_dict(tmp_path):
  _raises(_pickle_file(tmp_path, [[(60,)]]), 'dict')


@pytest.mark.parametrize('where', ['train', 'test'])
def test_pickle_empty_sequence(tmp_path, where):
  data = _corpus(**{where: [[(60,)], []]})
  _raises(_pickle_file(tmp_path, data), 'empty sequence', f'{where} sequence 1')


@pytest.mark.parametrize('note', [20, 109, 0, 127, -1])
def test_pickle_note_outside_piano(tmp_path, note):
  data = _corpus(valid=[[(62,), (60, note)]])
  _raises(_pickle_file(tmp_path, data), f'note {note}', 'valid sequence 0', 'frame 1')


@pytest.mark.parametrize('note', [60.0, '60', True, None])
def test_pickle_note_not_an_integer(tmp_path, note):
  _raises(_pickle_file(tmp_path, _corpus(test=[[(note,)]])), 'not an integer')


def _npz_arrays(**overrides):
  rng = np.random.default_rng(0)
  arrays = {
      'x_train': (rng.random((32, 10, 88)) < 0.1).astype(np.float32),
      'x_valid': (rng.random((16, 10, 88)) < 0.1).astype(np.float32),
      'x_test': np.zeros((3, 6, 88), np.float32),
      'mask_test': np.zeros((3, 6), np.float32),
  }
  for i, n in enumerate([6, 2, 4]):
    arrays['x_test'][i, :n] = rng.random((n, 88)) < 0.1
    arrays['mask_test'][i, :n] = 1
  arrays['u_test'] = np.full_like(arrays['x_test'], np.nan)  # NaN padding, as in the release:
  arrays['u_test'][:, 0] = rng.random((3, 88)) < 0.1          # only the first frames are read
  arrays.update(overrides)
  return {k: v for k, v in arrays.items() if v is not None}


def _npz_file(tmp_path, **overrides):
  path = tmp_path / 'bad.npz'
  np.savez(path, **_npz_arrays(**overrides))
  return path


def test_valid_crafted_npz_loads(tmp_path):
  arrays = _npz_arrays()
  c = corpus_lib.load_file(_npz_file(tmp_path))
  assert [len(s) for s in c.splits['test']] == [6, 2, 4]
  assert np.array_equal(c.splits['test'][1], arrays['x_test'][1, :2])
  assert c.chunks == {'train': 32, 'valid': 16}
  assert [len(s) for s in c.splits['train']] == [20] * 16
  assert np.array_equal(c.splits['train'][3][10:], arrays['x_train'][16 + 3])
  np.testing.assert_array_equal(np.stack(c.first_inputs['test']), arrays['u_test'][:, 0])
  assert corpus_lib.load_file(_npz_file(tmp_path, u_test=None)).first_inputs == {}  # optional


def test_npz_first_input_frame_nan(tmp_path):
  u = _npz_arrays()['u_test'].copy()
  u[1, 0, 3] = np.nan
  _raises(_npz_file(tmp_path, u_test=u), 'u_test', 'NaN')


def _with(key, fn):
  a = _npz_arrays()[key].copy()
  fn(a)
  return {key: a}


@pytest.mark.parametrize('key', ['x_train', 'x_valid', 'x_test'])
def test_npz_nan(tmp_path, key):
  _raises(_npz_file(tmp_path, **_with(key, lambda a: a.__setitem__((0, 0, 5), np.nan))),
          'NaN', key)


@pytest.mark.parametrize('key', ['x_train', 'x_test', 'mask_test'])
def test_npz_not_binary(tmp_path, key):
  _raises(_npz_file(tmp_path, **_with(key, lambda a: a.__setitem__((0, 0), 0.5))),
          'binary', key)


@pytest.mark.parametrize('shape', [(32, 100, 87), (32, 100), (32, 10, 89)])
def test_npz_train_wrong_shape(tmp_path, shape):
  _raises(_npz_file(tmp_path, x_train=np.zeros(shape, np.float32)), 'x_train', str(shape))


@pytest.mark.parametrize('rows', [17, 8, 0])
def test_npz_rows_not_multiple_of_16(tmp_path, rows):
  _raises(_npz_file(tmp_path, x_valid=np.zeros((rows, 10, 88), np.float32)), 'x_valid')


def test_npz_mask_with_a_hole(tmp_path):
  mask = _npz_arrays()['mask_test'].copy()
  mask[2, :3] = [1, 0, 1]
  x = _npz_arrays()['x_test'] * mask[..., None]
  _raises(_npz_file(tmp_path, mask_test=mask, x_test=x), 'mask_test', 'row 2')


def test_npz_notes_where_mask_is_zero(tmp_path):
  x = _npz_arrays()['x_test'].copy()
  x[1, 4, 10] = 1  # sequence 1 has 2 frames
  _raises(_npz_file(tmp_path, x_test=x), 'x_test', 'mask')


def test_npz_empty_test_sequence(tmp_path):
  mask = _npz_arrays()['mask_test'].copy()
  mask[1] = 0
  x = _npz_arrays()['x_test'] * mask[..., None]
  _raises(_npz_file(tmp_path, mask_test=mask, x_test=x), 'empty')


def test_npz_mask_shape_mismatch(tmp_path):
  _raises(_npz_file(tmp_path, mask_test=np.ones((3, 5), np.float32)), 'mask_test')


@pytest.mark.parametrize('key', ['x_test', 'mask_test', 'x_train'])
def test_npz_missing_array(tmp_path, key):
  _raises(_npz_file(tmp_path, **{key: None}), 'missing', key)


def test_npz_object_array_is_refused(tmp_path):
  path = tmp_path / 'bad.npz'
  np.savez(path, **{**_npz_arrays(), 'x_test': np.array([None, 1], dtype=object)})
  _raises(path)


@pytest.mark.parametrize('content', [b'', b'PK\x03\x04 truncated zip', b'not a zip at all'])
def test_npz_unreadable(tmp_path, content):
  path = tmp_path / 'bad.npz'
  path.write_bytes(content)
  _raises(path)


def test_unknown_suffix_and_missing_file(tmp_path):
  other = tmp_path / 'data.csv'
  other.write_text('1,2,3')
  _raises(other, '.csv')
  _raises(tmp_path / 'nope.npz')


# ---------------------------------------------------------------------------------------------
# Data directory and downloads.


def test_data_dir_precedence(monkeypatch, tmp_path):
  monkeypatch.delenv(cache.ENV_VAR, raising=False)
  default = pathlib.Path(platformdirs.user_cache_dir('srnn_tf'))
  assert cache.data_dir() == default
  assert cache.data_dir(None) == default
  monkeypatch.setenv(cache.ENV_VAR, '')
  assert cache.data_dir() == default  # an empty variable is unset
  monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / 'env'))
  assert cache.data_dir() == tmp_path / 'env'
  assert cache.data_dir(tmp_path / 'arg') == tmp_path / 'arg'
  assert cache.data_dir(str(tmp_path / 'arg')) == tmp_path / 'arg'
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  assert cache.data_dir('~/data') == tmp_path / 'home' / 'data'


def test_env_var_is_used_by_load_corpus(data_dir, monkeypatch):
  monkeypatch.setenv(cache.ENV_VAR, str(data_dir))
  c = corpus_lib.load_corpus('piano', 'srnn2016', download=False)
  assert c.source == str(data_dir / 'srnn2016' / 'piano_raw_batchsize16_seqlen100.npz')


def _offline(monkeypatch):
  """No network, whatever the machine: name resolution fails as it does here."""
  import socket  # pylint: disable=import-outside-toplevel

  def fail(*args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')

  monkeypatch.setattr(socket, 'getaddrinfo', fail)
  monkeypatch.setattr(socket, 'create_connection', fail)


@pytest.mark.parametrize('version', ['boulanger', 'srnn2016'])
def test_offline_download_names_url_and_path(tmp_path, monkeypatch, version):
  _offline(monkeypatch)
  spec = registry.corpus_file('jsb', version)
  with pytest.raises(DataError) as e:
    corpus_lib.load_corpus('jsb', version, data_dir=tmp_path)
  message = str(e.value)
  assert spec.url in message
  assert str(tmp_path / spec.relpath) in message
  assert [p for p in tmp_path.rglob('*') if p.is_file()] == []  # no partial or .part files


def test_canonical_urls():
  assert registry.corpus_file('jsb').url == \
      'http://www-etud.iro.umontreal.ca/~boulanni/JSB%20Chorales.pickle'
  assert registry.corpus_file('piano', 'srnn2016').url == \
      'https://github.com/marcofraccaro/srnn/raw/master/data/piano_raw_batchsize16_seqlen100.npz'


def test_no_download_when_told_not_to(tmp_path, monkeypatch):
  def no_network(*args, **kwargs):
    raise AssertionError('tried to download')

  monkeypatch.setattr(cache.urllib.request, 'urlopen', no_network)
  with pytest.raises(DataError, match='not found') as e:
    corpus_lib.load_corpus('muse', data_dir=tmp_path, download=False)
  assert str(tmp_path / 'boulanger' / 'MuseData.pickle') in str(e.value)


class _Response:
  """A download that sends `blocks` and then fails with `error` (if any)."""

  def __init__(self, blocks, error=None):
    self.blocks, self.error = list(blocks), error

  def read(self, n):
    if self.blocks:
      return self.blocks.pop(0)
    if self.error:
      raise self.error
    return b''

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
  monkeypatch.setattr(cache.urllib.request, 'urlopen', lambda url, timeout: _Response(
      [b'x' * 1000], ConnectionResetError('connection reset by peer')))
  spec = registry.corpus_file('jsb', 'srnn2016')
  with pytest.raises(DataError) as e:
    cache.fetch(spec, tmp_path)
  assert spec.url in str(e.value) and str(tmp_path / spec.relpath) in str(e.value)
  assert [p for p in tmp_path.rglob('*') if p.is_file()] == []


def test_download_with_wrong_hash_leaves_nothing(tmp_path, monkeypatch):
  monkeypatch.setattr(cache.urllib.request, 'urlopen',
                      lambda url, timeout: _Response([b'not the npz']))
  spec = registry.corpus_file('nottingham', 'srnn2016')
  with pytest.raises(DataError, match='sha256') as e:
    cache.fetch(spec, tmp_path)
  assert str(tmp_path / spec.relpath) in str(e.value)
  assert [p for p in tmp_path.rglob('*') if p.is_file()] == []


def test_download_is_checked_and_moved_into_place(data_dir, tmp_path, monkeypatch):
  real = (data_dir / 'srnn2016' / 'jsb_raw_batchsize16_seqlen100.npz').read_bytes()
  urls = []

  def urlopen(url, timeout):
    urls.append(url)
    return _Response([real[:100_000], real[100_000:]])

  monkeypatch.setattr(cache.urllib.request, 'urlopen', urlopen)
  c = corpus_lib.load_corpus('jsb', 'srnn2016', data_dir=tmp_path)
  target = tmp_path / 'srnn2016' / 'jsb_raw_batchsize16_seqlen100.npz'
  assert urls == [registry.corpus_file('jsb', 'srnn2016').url]
  assert target.read_bytes() == real
  assert [p for p in tmp_path.rglob('*') if p.is_file()] == [target]
  assert len(c.splits['test']) == 77
  corpus_lib.load_corpus('jsb', 'srnn2016', data_dir=tmp_path)  # cached: no second download
  assert len(urls) == 1


def test_every_corpus_file_has_the_sha256_of_the_shared_copy(data_dir):
  for name in registry.CORPORA:
    for version in registry.VERSIONS:
      spec = registry.corpus_file(name, version)
      assert spec.sha256 == cache.sha256sum(data_dir / spec.relpath), spec.relpath


def test_download_all_prefetches_every_file_checked(data_dir, tmp_path, monkeypatch):
  """`srnn-data download --all`: each corpus file is fetched once, sha256-checked, into the
  cache layout; a second call downloads nothing."""
  by_url = {registry.corpus_file(n, v).url: data_dir / registry.corpus_file(n, v).relpath
            for n in registry.CORPORA for v in registry.VERSIONS}
  urls = []

  def urlopen(url, timeout):
    urls.append(url)
    return _Response([by_url[url].read_bytes()])

  monkeypatch.setattr(cache.urllib.request, 'urlopen', urlopen)
  paths = cache.download(registry.CORPORA, registry.VERSIONS, tmp_path)
  assert sorted(urls) == sorted(by_url) and len(paths) == 8
  for path in paths:
    assert path.read_bytes() == by_url[[u for u, p in by_url.items()
                                        if p.name == path.name][0]].read_bytes()
  cache.download(registry.CORPORA, registry.VERSIONS, tmp_path)
  assert len(urls) == 8


def test_truncated_http_body_is_a_data_error(tmp_path, monkeypatch):
  monkeypatch.setattr(cache.urllib.request, 'urlopen', lambda url, timeout: _Response(
      [b'x' * 10], http.client.IncompleteRead(b'x' * 10, 1000)))
  spec = registry.corpus_file('jsb', 'srnn2016')
  with pytest.raises(DataError) as e:
    cache.fetch(spec, tmp_path)
  assert spec.url in str(e.value)
  assert [p for p in tmp_path.rglob('*') if p.is_file()] == []


def test_network_errors_are_data_errors(tmp_path, monkeypatch):
  for error in (urllib.error.HTTPError('u', 404, 'Not Found', {}, None), TimeoutError('slow')):
    def urlopen(url, timeout, error=error):
      raise error

    monkeypatch.setattr(cache.urllib.request, 'urlopen', urlopen)
    with pytest.raises(DataError):
      cache.fetch(registry.corpus_file('piano'), tmp_path)


def test_a_changed_cached_file_is_refused_with_what_to_do(data_dir, tmp_path):
  """One byte changed in a cached corpus file whose sha256 the registry knows: loading it and
  `srnn-data download` both refuse it, naming the file and saying to delete and download it
  again; an unchanged copy loads."""
  (tmp_path / 'boulanger').mkdir()
  cached = tmp_path / 'boulanger' / 'JSB Chorales.pickle'
  original = (data_dir / 'boulanger' / 'JSB Chorales.pickle').read_bytes()
  cached.write_bytes(original)
  assert corpus_lib.load_corpus('jsb', data_dir=tmp_path, download=False).splits['train']
  damaged = bytearray(original)
  damaged[len(damaged) // 2] ^= 0x01
  cached.write_bytes(bytes(damaged))
  for attempt in (lambda: corpus_lib.load_corpus('jsb', data_dir=tmp_path, download=False),
                  lambda: cache.download(['jsb'], ['boulanger'], tmp_path)):
    with pytest.raises(DataError, match=r'JSB Chorales\.pickle: sha256 .*changed or damaged.*'
                                        r'delete it and run `srnn-data download` again'):
      attempt()


def test_an_unreadable_cached_file_is_refused_with_what_to_do(tmp_path):
  """A cached corpus path that cannot be read (here a folder in its place: as root, a file's
  permissions do not stop a read) gets one line naming it and saying what to do."""
  (tmp_path / 'boulanger' / 'JSB Chorales.pickle').mkdir(parents=True)
  with pytest.raises(DataError, match=r'JSB Chorales\.pickle: unreadable \(Is a directory\): '
                                      r'delete it and run `srnn-data download` again'):
    corpus_lib.load_corpus('jsb', data_dir=tmp_path, download=False)
