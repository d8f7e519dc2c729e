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
