"""Musical time and key (srnn_tf.data.grid): each corpus's frame grid, MIDI read and written
on it, primers transposed as the corpus was."""

import numpy as np
import pretty_midi
import pytest

from srnn_tf.data import midi
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import grid as grid_lib
from srnn_tf.data import registry


def _scale_roll(tonic_key: int, frames_per_note: int = 1) -> np.ndarray:
  """A major scale up and down from key index `tonic_key`, then its tonic triad held."""
  steps = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2, 0]
  roll = np.zeros((len(steps) * frames_per_note + 4, 88), np.uint8)
  for i, s in enumerate(steps):
    roll[i * frames_per_note:(i + 1) * frames_per_note, tonic_key + s] = 1
  roll[-4:, [tonic_key, tonic_key + 4, tonic_key + 7]] = 1
  return roll


def test_every_named_corpus_has_a_grid_and_loading_attaches_it(data_dir):
  assert set(grid_lib.GRIDS) == {(c, v) for c in registry.CORPORA for v in registry.VERSIONS}
  jsb = corpus_lib.load_corpus('jsb', 'boulanger', data_dir)
  assert jsb.grid == grid_lib.Grid(frames_per_quarter=1, tempo=100.0, beat_relative=True,
                                   transposed_to_c=True)
  nottingham = corpus_lib.load_corpus('nottingham', 'srnn2016', data_dir)
  assert not nottingham.grid.beat_relative and not nottingham.grid.transposed_to_c
  assert nottingham.grid.seconds_per_frame == pytest.approx(0.3)
  folder = corpus_lib.load_corpus(str(data_dir / 'midi'), frames_per_quarter=3)
  assert folder.grid == grid_lib.Grid(frames_per_quarter=3)


@pytest.mark.parametrize('dataset, version', [('jsb', 'boulanger'), ('nottingham', 'boulanger'),
                                              ('jsb', 'srnn2016'), ('nottingham', 'srnn2016')])
def test_the_key_convention_of_the_registry_is_the_datas(data_dir, dataset, version):
  """Transposed corpora have their tonic estimated at C far above chance (1/12); the others
  near chance. (All four corpora: `python -m experiments.grids`.)"""
  corpus = corpus_lib.load_corpus(dataset, version, data_dir)
  at_c = np.mean([grid_lib.estimate_tonic(r)[0] == 0 for r in corpus.splits['test']])
  if corpus.grid.transposed_to_c:
    assert at_c > 0.7, at_c
  else:
    assert at_c < 0.2, at_c


@pytest.mark.parametrize('tonic', range(12))
def test_key_estimate_and_shift_to_c(tonic):
  roll = _scale_roll(39 + tonic)    # key 39 = MIDI 60, middle C
  assert grid_lib.estimate_tonic(roll) == (tonic, 'major')
  shift = grid_lib.shift_to_c(roll)
  assert -6 <= shift <= 5 and (tonic + shift) % 12 == 0
  moved = grid_lib.transpose(roll, shift)
  assert moved.sum() == roll.sum() and grid_lib.estimate_tonic(moved) == (0, 'major')


def test_transpose_drops_keys_pushed_off_the_keyboard():
  roll = np.zeros((2, 88), np.uint8)
  roll[0, 0] = roll[1, 87] = 1
  up = grid_lib.transpose(roll, 1)
  assert up[0, 1] == 1 and up[1].sum() == 0
  down = grid_lib.transpose(roll, -1)
  assert down[1, 86] == 1 and down[0].sum() == 0


def test_a_primer_for_a_nottingham_model_is_read_on_the_eighth_note_grid(data_dir, tmp_path):
  """Boulanger's Nottingham frames are eighth notes whatever the file's tempo; its pieces are
  in C, so a primer in D comes in moved down two semitones."""
  grid = corpus_lib.load_corpus('nottingham', 'boulanger', data_dir).grid
  in_d = _scale_roll(39 + 2, frames_per_note=2)       # quarter notes: two eighths each
  path = tmp_path / 'primer.mid'
  midi.write_midi(in_d, path, frames_per_quarter=2, tempo=77.0)   # an odd tempo: no effect
  read, shift = midi.read_on_grid(path, grid)
  assert shift == -2
  np.testing.assert_array_equal(read.roll, _scale_roll(39, frames_per_note=2))
  unmoved, shift = midi.read_on_grid(path, grid, transpose=False)
  assert shift == 0
  np.testing.assert_array_equal(unmoved.roll, in_d)
  # The same file on a 16th-note grid would be twice as long: the grid matters.
  assert len(midi.read_midi(path, frames_per_quarter=4).roll) == 2 * len(in_d)


def test_a_time_grid_reads_seconds_not_beats(tmp_path):
  """The srnn2016 grid: 0.3 s per frame, whatever the beat."""
  grid = grid_lib.GRIDS[('nottingham', 'srnn2016')]
  roll = _scale_roll(39, frames_per_note=1)
  path = tmp_path / 'fast.mid'
  # Written at 200 bpm, 1 frame per quarter: 0.3 s per quarter note = one srnn2016 frame.
  midi.write_midi(roll, path, frames_per_quarter=1, tempo=200.0)
  read, _ = midi.read_on_grid(path, grid)
  np.testing.assert_array_equal(read.roll, roll)


def test_written_midi_plays_at_the_grids_tempo(tmp_path):
  grid = grid_lib.GRIDS[('jsb', 'boulanger')]
  roll = _scale_roll(39)
  path = tmp_path / 'jsb.mid'
  midi.write_midi(roll, path, frames_per_quarter=grid.frames_per_quarter, tempo=grid.tempo)
  pm = pretty_midi.PrettyMIDI(str(path))
  _, tempi = pm.get_tempo_changes()
  np.testing.assert_allclose(tempi, [grid.tempo])
  starts = np.array([n.start for n in pm.instruments[0].notes])
  np.testing.assert_allclose(starts / grid.seconds_per_frame,
                             np.round(starts / grid.seconds_per_frame), atol=1e-6)
  assert grid.seconds_per_frame == pytest.approx(0.6)      # a quarter note at 100 bpm
