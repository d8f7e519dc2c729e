"""srnn_tf.data.midi: piano roll <-> MIDI round trips, a beat-based frame grid, real files, bad
files, and folders of MIDI files as corpora."""

import shutil

import mido
import numpy as np
import pretty_midi
import pytest

from srnn_tf.data import midi
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data.errors import DataError


@pytest.fixture(scope='module')
def midi_dir(data_dir):
  folder = data_dir / 'midi'
  files = sorted(folder.glob('*.mid'))
  if len(files) < 3:
    pytest.fail(f'expected the real MIDI files in {folder}')
  return folder


def _random_roll(rng, steps=48, density=0.04):
  """Random notes, some held over several frames, repeated frames, silent stretches, a
  silent first frame, and a note in the last frame (trailing silence has no MIDI event)."""
  roll = (rng.random((steps, midi.NUM_KEYS)) < density).astype(np.uint8)
  for _ in range(8):  # held notes
    key, start = rng.integers(0, midi.NUM_KEYS), rng.integers(0, steps - 6)
    roll[start:start + rng.integers(2, 7), key] = 1
  roll[10:13] = roll[9]        # a frame repeated
  roll[20:24] = 0              # silence inside
  roll[0] = 0                  # silence at the start survives (notes start later)
  roll[-1, [0, 87]] = 1        # the extreme keys, in the last frame
  return roll


@pytest.mark.parametrize('frames_per_quarter', [2, 4, 6])
@pytest.mark.parametrize('tempo', [90.0, 120.0])
def test_roll_midi_roll_round_trip(tmp_path, frames_per_quarter, tempo):
  rng = np.random.default_rng(frames_per_quarter * 1000 + int(tempo))
  for i in range(3):
    roll = _random_roll(rng)
    path = tmp_path / f'{i}.mid'
    midi.write_midi(roll, path, frames_per_quarter=frames_per_quarter, tempo=tempo)
    back = midi.read_midi(path, frames_per_quarter)
    assert back.roll.dtype == np.uint8
    np.testing.assert_array_equal(back.roll, roll)
    assert back.out_of_range == 0
    # One note per run of active frames: a held note is one note, not one per frame.
    runs = int(np.sum(np.diff(np.pad(roll, ((1, 0), (0, 0))).astype(int), axis=0) == 1))
    assert back.num_notes == runs
    pm = pretty_midi.PrettyMIDI(str(path))
    _, tempi = pm.get_tempo_changes()
    np.testing.assert_allclose(tempi, [tempo], rtol=1e-4)
    frame_s = 60.0 / (tempo * frames_per_quarter)
    np.testing.assert_allclose(pm.get_end_time(), len(roll) * frame_s, rtol=1e-3)


def test_round_trip_of_a_real_file(tmp_path, midi_dir):
  roll = midi.read_midi(midi_dir / 'test03.mid').roll
  midi.write_midi(roll, tmp_path / 'again.mid')
  np.testing.assert_array_equal(midi.read_midi(tmp_path / 'again.mid').roll, roll)


def test_roll_to_midi_rejects_wrong_shape():
  with pytest.raises(ValueError, match='88'):
    midi.roll_to_midi(np.zeros((4, 87)))
  with pytest.raises(ValueError):
    midi.roll_to_midi(np.zeros(88))


def test_read_real_files(midi_dir):
  for path in sorted(midi_dir.glob('*.mid')):
    r = midi.read_midi(path)
    assert r.source == str(path)
    assert r.roll.ndim == 2 and r.roll.shape[0] > 0 and r.roll.shape[1] == 88, path
    assert r.roll.dtype == np.uint8
    assert set(np.unique(r.roll)) == {0, 1}
    assert r.roll[-1].any()  # the roll ends with the last note
    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    assert r.num_notes == len(notes) > 0
    assert r.out_of_range == sum(not 21 <= n.pitch <= 108 for n in notes)
    assert {k + 21 for k in np.nonzero(r.roll.any(0))[0]} == \
        {n.pitch for n in notes if 21 <= n.pitch <= 108}


def test_real_file_with_tempo_changes_keeps_the_beat_grid(midi_dir):
  """test11.mid changes tempo (120, 110, 90, 60 bpm): frames follow beats, not seconds."""
  path = midi_dir / 'test11.mid'
  mf = mido.MidiFile(str(path))
  assert len({m.tempo for t in mf.tracks for m in t if m.type == 'set_tempo'}) > 1
  ticks_per_frame = mf.ticks_per_beat / 4
  onsets, last_off = set(), 0
  for track in mf.tracks:
    tick = 0
    for msg in track:
      tick += msg.time
      if msg.type == 'note_on' and msg.velocity > 0:
        onsets.add((round(tick / ticks_per_frame), msg.note - 21))
      elif msg.type in ('note_off', 'note_on'):
        last_off = max(last_off, tick)
  roll = midi.read_midi(path, 4).roll
  assert len(roll) == round(last_off / ticks_per_frame)
  assert all(roll[t, k] for t, k in onsets)


def _write(pm, path):
  pm.write(str(path))
  return path


def test_out_of_range_notes_are_counted_and_drums_ignored(tmp_path):
  pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120)
  piano = pretty_midi.Instrument(program=0)
  piano.notes += [pretty_midi.Note(80, 10, 0.0, 0.5), pretty_midi.Note(80, 115, 0.5, 1.0),
                  pretty_midi.Note(80, 60, 0.0, 1.0)]
  drums = pretty_midi.Instrument(program=0, is_drum=True)
  drums.notes += [pretty_midi.Note(100, 36, t, t + 0.25) for t in (0.0, 1.0, 2.0, 3.0)]
  pm.instruments += [piano, drums]
  r = midi.read_midi(_write(pm, tmp_path / 'range.mid'), 4)
  assert (r.num_notes, r.out_of_range) == (3, 2)
  assert r.roll.shape == (8, 88)  # 1 s at 120 bpm, 4 frames per quarter; drums not counted
  assert np.array_equal(np.nonzero(r.roll.any(0))[0], [60 - 21])
  assert r.roll[:, 60 - 21].all()
  c = corpus_lib.load_file(tmp_path / 'range.mid')
  assert c.out_of_range_notes == 2
  assert [len(c.splits[s]) for s in ('train', 'valid', 'test')] == [0, 0, 1]


def test_only_out_of_range_notes_is_an_error(tmp_path):
  pm = pretty_midi.PrettyMIDI()
  inst = pretty_midi.Instrument(program=0)
  inst.notes.append(pretty_midi.Note(80, 110, 0.0, 0.5))
  pm.instruments.append(inst)
  path = _write(pm, tmp_path / 'high.mid')
  with pytest.raises(DataError) as e:
    midi.read_midi(path)
  assert str(path) in str(e.value)


def test_tempo_change_does_not_stretch_the_grid(tmp_path):
  # 480 ticks per quarter; 120 bpm, then 40 bpm from beat 1 (a quarter takes 3x as long).
  tpq = 480
  mf = mido.MidiFile(ticks_per_beat=tpq)
  track = mido.MidiTrack()
  track += [mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(120), time=0),
            mido.Message('note_on', note=60, velocity=80, time=0),
            mido.Message('note_off', note=60, velocity=0, time=tpq),
            mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(40), time=0),
            mido.Message('note_on', note=64, velocity=80, time=0),
            mido.Message('note_off', note=64, velocity=0, time=tpq),
            mido.Message('note_on', note=67, velocity=80, time=0),
            mido.Message('note_off', note=67, velocity=0, time=tpq // 2)]
  mf.tracks.append(track)
  path = tmp_path / 'tempo.mid'
  mf.save(str(path))
  pm = pretty_midi.PrettyMIDI(str(path))
  np.testing.assert_allclose(pm.get_tempo_changes()[1], [120, 40], rtol=1e-4)
  for fpq in (4, 6):
    roll = midi.read_midi(path, fpq).roll
    assert roll.shape == (fpq * 5 // 2, 88)
    for note, start, frames in ((60, 0, fpq), (64, fpq, fpq), (67, 2 * fpq, fpq // 2)):
      np.testing.assert_array_equal(np.nonzero(roll[:, note - 21])[0],
                                    np.arange(start, start + frames), err_msg=f'{fpq} {note}')


@pytest.mark.parametrize('kind', ['garbage', 'truncated', 'empty', 'no-notes', 'drums-only',
                                  'missing'])
def test_bad_midi_files(tmp_path, midi_dir, kind):
  path = tmp_path / f'{kind}.mid'
  if kind == 'garbage':
    path.write_bytes(b'this is not a MIDI file \x00\x01\x02' * 20)
  elif kind == 'truncated':
    data = (midi_dir / 'test03.mid').read_bytes()
    path.write_bytes(data[:len(data) // 2])
  elif kind == 'empty':
    path.write_bytes(b'')
  elif kind in ('no-notes', 'drums-only'):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0, is_drum=kind == 'drums-only')
    if kind == 'drums-only':
      inst.notes.append(pretty_midi.Note(100, 36, 0.0, 0.5))
    pm.instruments.append(inst)
    _write(pm, path)
    assert pretty_midi.PrettyMIDI(str(path)).instruments is not None  # a valid MIDI file
  with pytest.raises(DataError) as e:
    midi.read_midi(path)
  assert str(path) in str(e.value)
  with pytest.raises(DataError) as e:  # and through the corpus loader
    corpus_lib.load_file(path)
  assert str(path) in str(e.value)


def _copy_midi(midi_dir, folder):
  folder.mkdir(parents=True)
  for p in sorted(midi_dir.glob('*.mid')):
    shutil.copy(p, folder / p.name)
  (folder / 'README.txt').write_text('not MIDI')
  return sorted(folder.glob('*.mid'))


def test_midi_folder_split_is_deterministic(tmp_path, midi_dir):
  files = _copy_midi(midi_dir, tmp_path / 'a')
  assert len(files) >= 3
  first = corpus_lib.load_file(tmp_path / 'a')
  second = corpus_lib.load_file(tmp_path / 'a')
  for split in ('train', 'valid', 'test'):
    assert len(first.splits[split]) == len(second.splits[split])
    for x, y in zip(first.splits[split], second.splits[split]):
      np.testing.assert_array_equal(x, y)

  assignment = corpus_lib.split_files(files, tmp_path / 'a')
  assigned = [p for split in ('train', 'valid', 'test') for p in assignment[split]]
  assert sorted(assigned) == files  # every file in exactly one split
  assert len(set(assigned)) == len(assigned)
  assert assignment['valid'] and assignment['test'] and assignment['train']
  # The corpus holds exactly those files' rolls, split by split.
  for split in ('train', 'valid', 'test'):
    expected = [midi.read_midi(p).roll for p in assignment[split]]
    assert len(first.splits[split]) == len(expected)
    for x, y in zip(first.splits[split], expected):
      np.testing.assert_array_equal(x, y)

  # The split depends on the files' names relative to the folder, not on where it lies or
  # on the order the files are listed in.
  other = _copy_midi(midi_dir, tmp_path / 'elsewhere' / 'b')
  moved = corpus_lib.split_files(other[::-1], tmp_path / 'elsewhere' / 'b')
  assert {s: [p.name for p in ps] for s, ps in moved.items()} == \
      {s: [p.name for p in ps] for s, ps in assignment.items()}


def test_midi_folder_in_subfolders_and_errors(tmp_path, midi_dir):
  files = _copy_midi(midi_dir, tmp_path / 'nested' / 'deep')
  c = corpus_lib.load_file(tmp_path / 'nested')
  assert sum(len(c.splits[s]) for s in ('train', 'valid', 'test')) == len(files)
  empty = tmp_path / 'empty'
  empty.mkdir()
  (empty / 'a.txt').write_text('x')
  with pytest.raises(DataError) as e:
    corpus_lib.load_file(empty)
  assert str(empty) in str(e.value)
  # One bad file in a folder: the error names that file.
  (tmp_path / 'nested' / 'broken.mid').write_bytes(b'garbage')
  with pytest.raises(DataError, match='broken.mid'):
    corpus_lib.load_file(tmp_path / 'nested')


def test_split_of_few_files(tmp_path):
  paths = [tmp_path / f'{i}.mid' for i in range(2)]
  s = corpus_lib.split_files(paths, tmp_path)
  assert (len(s['train']), len(s['valid']), len(s['test'])) == (2, 0, 0)
  paths = [tmp_path / f'{i}.mid' for i in range(40)]
  s = corpus_lib.split_files(paths, tmp_path)
  assert (len(s['train']), len(s['valid']), len(s['test'])) == (32, 4, 4)
