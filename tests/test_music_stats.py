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
