"""Corpora as lists of piano rolls, loaded from any of the formats users have.

A `Corpus` maps each split ('train', 'valid', 'test') to a list of uint8 piano rolls
`[T_i, 88]`. Every loader validates what it reads and raises `DataError` naming the file and
the problem: missing splits, empty sequences, notes outside 21..108, non-binary or NaN
values, wrong shapes, inconsistent masks.

The srnn2016 release stores train and valid as 100-frame chunks ordered for stateful training
with batch 16: row `b` of batch `k+1` continues row `b` of batch `k`. We undo that layout and
keep each split as its 16 continuous streams. Training windows are then cut from the streams
(see `pipeline.py`), so each window's first input frame `u_1` is the true previous frame;
with `seq_len=100` the windows are exactly the release's chunks.
"""

import dataclasses
import hashlib
import os
import pathlib
import zipfile

import numpy as np

from srnn_tf import keyboard
from srnn_tf.data import midi
from srnn_tf.data import cache
from srnn_tf.data import grid as grid_lib
from srnn_tf import limits
from srnn_tf.data import registry
from srnn_tf.data import safe_pickle
from srnn_tf.data.errors import DataError

SRNN2016_STREAMS = 16   # the release's batch size: the number of parallel streams
MIDI_SUFFIXES = ('.mid', '.midi')


@dataclasses.dataclass
class Corpus:
  """A corpus: for each split, a list of binary piano rolls.

  Attributes:
    name: corpus name ('jsb', ..., or a file name).
    source: the file or folder it was read from.
    splits: {'train'|'valid'|'test': [uint8 array [T_i, 88], ...]}.
    chunks: for the srnn2016 release, how many 100-frame rows each chunked split had.
    first_inputs: for the srnn2016 release, {'test': [uint8 [88], ...]}: the first input
      frame `u_1` its `u_test` holds for each test sequence. Our inputs start from silence
      (`u_1 = 0`); the release's evaluation, hence the paper's numbers, started from these:
      the first target frame itself in some pieces (all of JSB's), an earlier frame in others.
    out_of_range_notes: notes outside the 88 keys that were left out (MIDI input only).
    grid: the musical time of a frame and the key convention (`data.grid`).
  """
  name: str
  source: str
  splits: dict[str, list[np.ndarray]]
  chunks: dict[str, int] = dataclasses.field(default_factory=dict)
  first_inputs: dict[str, list[np.ndarray]] = dataclasses.field(default_factory=dict)
  out_of_range_notes: int = 0
  grid: grid_lib.Grid = grid_lib.Grid()

  def stats(self) -> dict[str, dict]:
    """Sequences, frames, notes per frame and note range (MIDI numbers) per split."""
    out = {}
    for split, seqs in self.splits.items():
      frames = sum(len(s) for s in seqs)
      notes = sum(int(s.sum()) for s in seqs)
      keys = np.nonzero(np.any([s.any(0) for s in seqs], axis=0))[0] if seqs else []
      out[split] = dict(
          sequences=len(seqs), frames=frames,
          notes_per_frame=notes / frames if frames else 0.0,
          lowest_note=int(keys[0]) + keyboard.LOWEST_NOTE if len(keys) else None,
          highest_note=int(keys[-1]) + keyboard.LOWEST_NOTE if len(keys) else None)
      if split in self.chunks:
        out[split]['chunks'] = self.chunks[split]
    return out


# ---------------------------------------------------------------------------------------------
# Boulanger pickles: {'train'|'valid'|'test': [sequence: [frame: (note, ...)]]}


def _frames_to_roll(seq, where: str) -> np.ndarray:
  if not isinstance(seq, (list, tuple)) or not seq:
    raise DataError(f'{where}: empty sequence' if isinstance(seq, (list, tuple))
                    else f'{where}: sequence is a {type(seq).__name__}, not a list of frames')
  roll = np.zeros((len(seq), keyboard.NUM_KEYS), np.uint8)
  for t, frame in enumerate(seq):
    if not isinstance(frame, (list, tuple, set, frozenset)):
      raise DataError(f'{where}, frame {t}: frame is a {type(frame).__name__}, '
                      'not a tuple of MIDI note numbers')
    for note in frame:
      if isinstance(note, (bool, np.bool_)) or not isinstance(note, (int, np.integer)):
        raise DataError(f'{where}, frame {t}: note {note!r} is not an integer')
      if not keyboard.LOWEST_NOTE <= note <= keyboard.HIGHEST_NOTE:
        raise DataError(f'{where}, frame {t}: note {int(note)} outside the piano range '
                        f'{keyboard.LOWEST_NOTE}..{keyboard.HIGHEST_NOTE}')
      roll[t, note - keyboard.LOWEST_NOTE] = 1
  return roll


def load_pickle(path: str | os.PathLike, name: str | None = None) -> Corpus:
  """Loads a Boulanger-format pickle (plain or numpy-int notes, Python 2 or 3), safely."""
  path = os.fspath(path)
  data = safe_pickle.load(path)
  if not isinstance(data, dict):
    raise DataError(f'{path}: expected a dict with keys train/valid/test, '
                    f'got a {type(data).__name__}')
  for split in registry.SPLITS:
    if split not in data:
      raise DataError(f'{path}: missing split {split!r} (keys: {sorted(map(str, data))})')
    seqs = data[split]
    if not isinstance(seqs, (list, tuple)) or not seqs:
      raise DataError(f'{path}: split {split!r} is empty or not a list of sequences')
  # The piano rolls' size, counted from the structure before any is built: a small pickle can
  # refer to one long piece many times over (its references cost bytes, its rolls gigabytes).
  frames = 0
  for split in registry.SPLITS:
    lengths = [len(s) if isinstance(s, (list, tuple)) else 0 for s in data[split]]
    longest = int(np.argmax(lengths))
    limits.piece_frames(lengths[longest], f'{path}: {split} sequence {longest}')
    frames += sum(lengths)
  limits.data_bytes(frames * keyboard.NUM_KEYS, path)
  splits = {split: [_frames_to_roll(s, f'{path}: {split} sequence {i}')
                    for i, s in enumerate(data[split])] for split in registry.SPLITS}
  return Corpus(name or pathlib.Path(path).stem, path, splits)


# ---------------------------------------------------------------------------------------------
# The srnn2016 npz release.


def _binary(a: np.ndarray, path: str, key: str) -> np.ndarray:
  if not np.all(np.isfinite(a)):
    raise DataError(f'{path}: array {key!r} holds NaN or inf values')
  if not np.all((a == 0) | (a == 1)):
    raise DataError(f'{path}: array {key!r} is not binary (values other than 0 and 1)')
  return a.astype(np.uint8)


def _unchunk(x: np.ndarray, path: str, key: str) -> list[np.ndarray]:
  """`[N, L, 88]` chunks in stateful batch-16 order -> 16 streams `[N/16 * L, 88]`."""
  if x.ndim != 3 or x.shape[2] != keyboard.NUM_KEYS or x.shape[0] == 0 or x.shape[1] == 0:
    raise DataError(f'{path}: array {key!r} has shape {x.shape}, expected [N, L, 88] with '
                    'N, L > 0')
  if x.shape[0] % SRNN2016_STREAMS:
    raise DataError(f'{path}: array {key!r} has {x.shape[0]} rows, not a multiple of the '
                    f'{SRNN2016_STREAMS} streams of the stateful layout')
  n, length, _ = x.shape
  streams = x.reshape(n // SRNN2016_STREAMS, SRNN2016_STREAMS, length, keyboard.NUM_KEYS)
  return [np.ascontiguousarray(streams[:, b].reshape(-1, keyboard.NUM_KEYS))
          for b in range(SRNN2016_STREAMS)]


def _masked_sequences(x: np.ndarray, mask: np.ndarray, path: str) -> list[np.ndarray]:
  if x.ndim != 3 or x.shape[2] != keyboard.NUM_KEYS:
    raise DataError(f'{path}: array \'x_test\' has shape {x.shape}, expected [N, T, 88]')
  if mask.shape != x.shape[:2]:
    raise DataError(f'{path}: \'mask_test\' has shape {mask.shape}, expected {x.shape[:2]}')
  lengths = mask.sum(1).astype(np.int64)
  prefix = np.arange(mask.shape[1])[None, :] < lengths[:, None]
  if not np.array_equal(mask.astype(bool), prefix):
    bad = int(np.nonzero((mask.astype(bool) != prefix).any(1))[0][0])
    raise DataError(f'{path}: mask_test row {bad} is not a prefix of ones (holes in the mask)')
  if np.any(lengths == 0):
    raise DataError(f'{path}: test sequence {int(np.argmin(lengths))} is empty (mask all 0)')
  if np.any(x[~prefix]):
    raise DataError(f'{path}: x_test has notes where mask_test is 0 (mask inconsistent '
                    'with the data)')
  return [np.ascontiguousarray(x[i, :n]) for i, n in enumerate(lengths)]


def _first_inputs(u_test: np.ndarray, x_test: np.ndarray, path: str) -> list[np.ndarray]:
  """The release's `u_1` of each test sequence; the rest of `u_test` (and its NaN padding) is
  not used: we build `u_t = x_{t-1}` from `x` ourselves."""
  if u_test.ndim != 3 or u_test.shape[0] != x_test.shape[0] or u_test.shape[2] != keyboard.NUM_KEYS:
    raise DataError(f'{path}: array \'u_test\' has shape {u_test.shape}, expected '
                    f'[{x_test.shape[0]}, T, {keyboard.NUM_KEYS}]')
  return list(_binary(u_test[:, 0], path, 'u_test (first frames)'))


def _unpacked_bytes(path: str) -> int:
  """What the npz's arrays unpack to, from their headers (nothing is decompressed)."""
  total = 0
  with zipfile.ZipFile(path) as z:
    for member in z.namelist():
      with z.open(member) as f:
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(f)
        total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
  return total


def load_npz(path: str | os.PathLike, name: str | None = None) -> Corpus:
  """Loads an srnn2016-release npz: `x_*`, `mask_test`, and `u_test`'s first frames only."""
  path = os.fspath(path)
  try:
    limits.data_bytes(_unpacked_bytes(path), path)
    with open(path, 'rb') as raw, np.load(raw, allow_pickle=False) as f:
      files = list(f.files)
      arrays = {k: f[k] for k in ('x_train', 'x_valid', 'x_test', 'mask_test') if k in files}
      u_test = f['u_test'] if 'u_test' in files else None
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    raise DataError(f'{path}: not a readable npz file ({type(e).__name__}: {e})') from None
  missing = [k for k in ('x_train', 'x_valid', 'x_test', 'mask_test') if k not in arrays]
  if missing:
    raise DataError(f'{path}: missing array(s) {", ".join(missing)} (has {files})')
  x = {k: _binary(v, path, k) for k, v in arrays.items()}
  splits = {
      'train': _unchunk(x['x_train'], path, 'x_train'),
      'valid': _unchunk(x['x_valid'], path, 'x_valid'),
      'test': _masked_sequences(x['x_test'], x['mask_test'], path),
  }
  chunks = {'train': len(arrays['x_train']), 'valid': len(arrays['x_valid'])}
  first = {} if u_test is None else {'test': _first_inputs(u_test, x['x_test'], path)}
  return Corpus(name or pathlib.Path(path).stem, path, splits, chunks, first)


# ---------------------------------------------------------------------------------------------
# MIDI files and folders.


def midi_files(folder: str | os.PathLike) -> list[pathlib.Path]:
  """The MIDI files under `folder` (recursively, following symlinked folders once each),
  sorted."""
  files, seen = [], set()
  for root, dirs, names in os.walk(folder, followlinks=True):
    real = os.path.realpath(root)
    if real in seen:       # a link back up the tree: its files are listed already
      dirs[:] = []
      continue
    seen.add(real)
    files += [pathlib.Path(root) / n for n in names
              if pathlib.Path(n).suffix.lower() in MIDI_SUFFIXES and
              os.path.isfile(os.path.join(root, n))]
  return sorted(files)


def split_files(files: list[pathlib.Path], root: pathlib.Path,
                valid_fraction: float = 0.1, test_fraction: float = 0.1) -> dict[str, list]:
  """A deterministic train/valid/test split: files ordered by a hash of their relative path.

  The order does not depend on the machine or on listing order. With three files or more,
  valid and test get at least one file each.
  """
  key = lambda p: hashlib.sha1(str(p.relative_to(root)).encode()).hexdigest()
  ordered = sorted(files, key=key)
  n = len(ordered)
  n_test = max(1, round(test_fraction * n)) if n >= 3 else 0
  n_valid = max(1, round(valid_fraction * n)) if n >= 3 else 0
  return {'test': ordered[:n_test], 'valid': ordered[n_test:n_test + n_valid],
          'train': ordered[n_test + n_valid:]}


def load_midi(path: str | os.PathLike, frames_per_quarter: int = 4) -> Corpus:
  """A MIDI file (as a one-piece test split) or a folder of them (split by `split_files`)."""
  path = pathlib.Path(path)
  if path.is_dir():
    files = midi_files(path)
    if not files:
      raise DataError(f'{path}: folder holds no MIDI files ({"/".join(MIDI_SUFFIXES)})')
    assignment = split_files(files, path)
  else:
    assignment = {'train': [], 'valid': [], 'test': [path]}
  splits, out_of_range = {}, 0
  for split, split_files_ in assignment.items():
    rolls = [midi.read_midi(f, frames_per_quarter) for f in split_files_]
    out_of_range += sum(r.out_of_range for r in rolls)
    splits[split] = [r.roll for r in rolls]
  return Corpus(path.stem, str(path), splits, out_of_range_notes=out_of_range,
                grid=grid_lib.Grid(frames_per_quarter=frames_per_quarter))


# ---------------------------------------------------------------------------------------------


def load_file(path: str | os.PathLike, frames_per_quarter: int = 4) -> Corpus:
  """Loads any supported input by its kind: pickle, npz, MIDI file or folder of MIDI files."""
  path = pathlib.Path(path)
  if not path.exists():
    raise DataError(f'{path}: no such file or directory')
  suffix = path.suffix.lower()
  if path.is_dir() or suffix in MIDI_SUFFIXES:
    return load_midi(path, frames_per_quarter)
  if suffix == '.npz':
    return load_npz(path)
  if suffix in ('.pickle', '.pkl'):
    return load_pickle(path)
  raise DataError(f'{path}: unknown file type {suffix!r} (expected .pickle/.pkl, .npz, '
                  f'.mid/.midi, or a folder of MIDI files)')


def load_corpus(name: str, version: str = registry.DEFAULT_VERSION,
                data_dir: str | os.PathLike | None = None, download: bool = True,
                frames_per_quarter: int = 4) -> Corpus:
  """Loads corpus `name` ('jsb', 'muse', 'nottingham', 'piano') in data version `version`.

  The file is looked up in the data directory (see `cache.data_dir`) and downloaded from its
  canonical URL if missing. `name` may also be a path to a file or folder (see `load_file`;
  MIDI input is read on a grid of `frames_per_quarter` frames per quarter note).
  """
  registry.check_dataset(name)
  if name not in registry.CORPORA:
    return load_file(name, frames_per_quarter)
  spec = registry.corpus_file(name, version)
  path = cache.fetch(spec, data_dir, download=download)
  corpus = load_npz(path, name) if version == 'srnn2016' else load_pickle(path, name)
  return dataclasses.replace(corpus, grid=grid_lib.corpus_grid(name, version))
