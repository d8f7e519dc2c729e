"""Sample statistics on hand-made piano rolls with known values."""

import numpy as np
import pytest

from srnn_tf import music_stats


def roll_of(frames, length=None):
  """A [T, 88] roll from a list of sets of MIDI notes."""
  roll = np.zeros((length or len(frames), 88), np.uint8)
  for t, notes in enumerate(frames):
    for n in notes:
      roll[t, n - 21] = 1
  return roll


def test_durations_of_held_and_repeated_notes():
  # C4 held 3 frames, released, struck again for 1; E4 for 2 frames at the end.
  roll = roll_of([{60}, {60}, {60}, set(), {60, 64}, {64}])
  assert sorted(music_stats.note_durations(roll).tolist()) == [1, 2, 3]


def test_statistics_of_a_c_major_triad_held_then_silence():
  roll = roll_of([{60, 64, 67}] * 4 + [set()] * 4)
  stats = music_stats.roll_stats([roll])
  s = stats.summary()
  assert s['notes_per_frame'] == pytest.approx(1.5)          # 3 notes in half of the frames
  assert s['silent_frames'] == pytest.approx(0.5)
  assert s['pitch_range'] == (60, 67)
  assert s['mean_pitch'] == pytest.approx((60 + 64 + 67) / 3)
  assert s['mean_duration'] == pytest.approx(4.0)
  assert s['repetition'] == pytest.approx(6 / 7)             # all transitions but the release
  np.testing.assert_allclose(stats.pitch_class[[0, 4, 7]], 1 / 3)
  assert stats.notes == 3 and stats.frames == 8


def test_total_variation_distance():
  chords = music_stats.roll_stats([roll_of([{60, 64, 67}] * 4)])
  same = music_stats.roll_stats([roll_of([{60, 64, 67}] * 8)])
  other = music_stats.roll_stats([roll_of([{61}] * 4)])
  assert music_stats.compare(chords, same)['tv_pitch'] == 0.0
  assert music_stats.compare(chords, other)['tv_pitch'] == 1.0
  assert music_stats.compare(chords, other)['tv_polyphony'] == 1.0   # 3 notes vs 1 note
  assert music_stats.total_variation([0.5, 0.5], [1.0, 0.0]) == pytest.approx(0.5)


def test_long_notes_and_dense_frames_go_to_the_last_bins():
  roll = roll_of([set(range(60, 72))] * 40)
  stats = music_stats.roll_stats([roll])
  assert stats.polyphony[-1] == 1.0 and stats.duration[-1] == 1.0


def test_bad_roll_shape_is_refused():
  with pytest.raises(ValueError, match='88'):
    music_stats.roll_stats([np.zeros((4, 12))])


def _chords(*keys_per_frame):
  roll = np.zeros((len(keys_per_frame), 88), np.uint8)
  for t, keys in enumerate(keys_per_frame):
    roll[t, list(keys)] = 1
  return roll


def test_stretch_repeats_count_returning_phrases_not_held_chords():
  a, b, c, d = (39,), (43,), (46,), (50,)
  phrase = [a, b, c, d]
  # The 4-frame phrase, something else, then the phrase again: of the 4-frame stretches
  # (starts 0..8, the last one being the phrase's return) exactly one repeats.
  roll = _chords(*phrase, (60,), *phrase)
  rates = music_stats.stretch_repeats([roll], lengths=(4,))
  assert rates[4] == pytest.approx(1 / 6)
  # A chord held 9 frames: every 4-frame stretch is the same, but only those starting at
  # least 4 frames after the first one are repeats (no overlap with it).
  held = _chords(*[a] * 9)
  assert music_stats.stretch_repeats([held], lengths=(4,))[4] == pytest.approx(2 / 6)
  # Silence does not count, and too short a piece gives NaN.
  assert np.isnan(music_stats.stretch_repeats([np.zeros((9, 88))], lengths=(4,))[4])
  assert np.isnan(music_stats.stretch_repeats([held[:3]], lengths=(4,))[4])
  # Repeats are within a piece: the same phrase in two pieces is no repeat.
  assert music_stats.stretch_repeats([_chords(*phrase)] * 2, lengths=(4,))[4] == 0


def test_stretch_repeats_against_a_brute_force_count():
  rng = np.random.default_rng(0)
  # Pieces over 3 keys of a few patterns, so that repeats happen.
  patterns = rng.random((3, 88)) < 0.03
  rolls = [patterns[rng.integers(0, 3, size=40)].astype(np.uint8) for _ in range(3)]
  for length in (2, 4):
    repeated = total = 0
    for roll in rolls:
      for t in range(len(roll) - length + 1):
        stretch = roll[t:t + length]
        if not stretch.any():
          continue
        total += 1
        repeated += any(np.array_equal(stretch, roll[s:s + length])
                        for s in range(0, t - length + 1))
    assert music_stats.stretch_repeats(rolls, lengths=(length,))[length] == pytest.approx(
        repeated / total)


def test_windows_cut_pieces_to_a_common_length():
  rolls = [np.zeros((10, 88)), np.zeros((3, 88)), np.zeros((8, 88))]
  assert [len(w) for w in music_stats.windows(rolls, 4)] == [4, 4, 4, 4]
