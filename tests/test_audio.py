"""Rendering MIDI to audio with fluidsynth (skipped where it is not installed)."""

import wave

import numpy as np
import pytest

from srnn_tf import audio
from srnn_tf.data import midi


def test_an_unknown_audio_type_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match=r'piece\.mp3: audio files are wav, flac, oga'):
    audio.render(tmp_path / 'piece.mid', tmp_path / 'piece.mp3')


@pytest.mark.skipif(audio.unavailable_reason() is not None,
                    reason=str(audio.unavailable_reason()))
def test_renders_a_chord_to_wav_and_to_a_smaller_ogg(tmp_path):
  roll = np.zeros((16, 88), np.uint8)
  roll[:, [39, 43, 46]] = 1                            # C4 E4 G4 held for 16 frames
  midi.write_midi(roll, tmp_path / 'chord.mid')
  audio.render(tmp_path / 'chord.mid', tmp_path / 'chord.wav', sample_rate=22050)
  audio.render(tmp_path / 'chord.mid', tmp_path / 'chord.oga', sample_rate=22050)
  with wave.open(str(tmp_path / 'chord.wav')) as f:
    samples = np.frombuffer(f.readframes(f.getnframes()), np.int16)
    assert f.getframerate() == 22050
  assert np.abs(samples).max() > 1000                  # sound, not silence
  assert 0 < (tmp_path / 'chord.oga').stat().st_size < (tmp_path / 'chord.wav').stat().st_size / 4


def test_normalizing_gain_meets_the_rms_target_or_the_peak_limit():
  # A quiet render (the Piano sample's level): the RMS target would clip, so the peak limits.
  gain_db = 20 * np.log10(audio.normalizing_gain(-20.5, -41.0))
  assert gain_db == pytest.approx(audio.MAX_PEAK_DBFS + 20.5)
  # A dense, even one: the RMS target is reached with the peak below the limit.
  gain_db = 20 * np.log10(audio.normalizing_gain(-30.0, -40.0))
  assert gain_db == pytest.approx(audio.TARGET_RMS_DBFS + 40.0)
  assert audio.normalizing_gain(-np.inf, -np.inf) == 1.0     # silence stays silent
  peak, rms = audio.level_dbfs(np.full(100, 16384, np.int16))
  assert peak == pytest.approx(-6.02, abs=0.01) and rms == pytest.approx(-6.02, abs=0.01)


@pytest.mark.skipif(audio.unavailable_reason() is not None,
                    reason=str(audio.unavailable_reason()))
def test_rendered_audio_is_normalised(tmp_path):
  """A sparse melody, which fluidsynth's default gain renders at about -20 dBFS peak, comes
  out at the RMS target or with its peak at the limit."""
  roll = np.zeros((32, 88), np.uint8)
  for t in range(32):
    roll[t, 39 + (t * 5) % 12] = 1
  midi.write_midi(roll, tmp_path / 'melody.mid')
  audio.render(tmp_path / 'melody.mid', tmp_path / 'melody.wav', sample_rate=22050)
  with wave.open(str(tmp_path / 'melody.wav')) as f:
    peak, rms = audio.level_dbfs(np.frombuffer(f.readframes(f.getnframes()), np.int16))
  assert peak <= audio.MAX_PEAK_DBFS + 0.3
  assert peak >= audio.MAX_PEAK_DBFS - 0.5 or rms == pytest.approx(audio.TARGET_RMS_DBFS, abs=0.5)
