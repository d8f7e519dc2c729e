"""MIDI -> WAV with the fluidsynth command-line synthesiser and a General MIDI soundfont
(Debian: `apt-get install fluidsynth fluid-soundfont-gm`)."""

import os
import shutil
import subprocess

SOUNDFONTS = ('/usr/share/sounds/sf2/FluidR3_GM.sf2', '/usr/share/sounds/sf2/default-GM.sf2')


def find_soundfont():
  return next((p for p in SOUNDFONTS if os.path.exists(p)), None)


def unavailable_reason():
  """None if rendering works here, else what is missing and how to install it."""
  if shutil.which('fluidsynth') is None:
    return 'fluidsynth is not installed (apt-get install fluidsynth fluid-soundfont-gm)'
  if find_soundfont() is None:
    return ('no General MIDI soundfont found at ' + ' or '.join(SOUNDFONTS) +
            ' (apt-get install fluid-soundfont-gm)')
  return None


# File types fluidsynth writes (through libsndfile), by extension: 'oga' is Ogg Vorbis, about
# a tenth of the WAV's size, small enough to keep beside a piece's MIDI.
FORMATS = ('wav', 'flac', 'oga')


# The level every rendered file is brought to: an RMS of -20 dBFS (a usable listening level)
# unless that would put the peak above -1 dBFS, which then sets the gain. Fluidsynth's own
# default (master gain 0.2) leaves a sampled piano roll far quieter: a Piano-midi.de sample
# peaked at -20.5 dBFS with an RMS of -41 dBFS.
TARGET_RMS_DBFS = -20.0
MAX_PEAK_DBFS = -1.0
_FLUIDSYNTH_GAIN = 0.2   # fluidsynth's default master gain
_MAX_FLUIDSYNTH_GAIN = 10.0


def level_dbfs(samples) -> tuple[float, float]:
  """(peak, RMS) of int16 `samples` in dB relative to full scale (-inf for silence)."""
  import numpy as np
  x = np.asarray(samples, np.float64) / 32768.0
  with np.errstate(divide='ignore'):
    peak = 20 * np.log10(np.abs(x).max()) if x.size else -np.inf
    rms = 10 * np.log10(np.mean(x ** 2)) if x.size else -np.inf
  return float(peak), float(rms)


def normalizing_gain(peak_dbfs: float, rms_dbfs: float) -> float:
  """The linear gain that brings a render of level (`peak_dbfs`, `rms_dbfs`) to
  `TARGET_RMS_DBFS`, its peak held at `MAX_PEAK_DBFS` (1 for silence)."""
  import math
  if math.isinf(peak_dbfs):
    return 1.0
  return 10 ** (min(TARGET_RMS_DBFS - rms_dbfs, MAX_PEAK_DBFS - peak_dbfs) / 20)


def _fluidsynth(midi_path, audio_path, file_type, sample_rate, gain):
  subprocess.run(['fluidsynth', '-ni', '-g', f'{gain:.6g}', '-F', str(audio_path), '-T',
                  file_type, '-r', str(sample_rate), find_soundfont(), str(midi_path)],
                 check=True, capture_output=True)


def render(midi_path, audio_path, sample_rate=44100):
  """Renders `midi_path` to `audio_path`, whose extension (one of `FORMATS`) sets the file
  type, at a normalised level (`TARGET_RMS_DBFS`, peak at most `MAX_PEAK_DBFS`); raises
  RuntimeError saying what is missing.

  Two renders: a WAV at fluidsynth's default gain, whose level sets the gain of the second,
  the file written. Fluidsynth's master gain is linear and applied before its output is
  quantised, so the file is as if synthesised at that level (scaling the first render's 16-bit
  samples instead would raise their quantisation noise with them, and could not write Ogg).
  """
  import tempfile
  import wave
  import numpy as np
  file_type = os.path.splitext(str(audio_path))[1].lstrip('.')
  if file_type not in FORMATS:
    raise ValueError(f'{audio_path}: audio files are {", ".join(FORMATS)}')
  reason = unavailable_reason()
  if reason:
    raise RuntimeError(f'cannot render {audio_path}: {reason}')
  with tempfile.TemporaryDirectory() as tmp:
    probe = os.path.join(tmp, 'probe.wav')
    _fluidsynth(midi_path, probe, 'wav', sample_rate, _FLUIDSYNTH_GAIN)
    with wave.open(probe) as f:
      samples = np.frombuffer(f.readframes(f.getnframes()), np.int16)
  gain = _FLUIDSYNTH_GAIN * normalizing_gain(*level_dbfs(samples))
  _fluidsynth(midi_path, audio_path, file_type, sample_rate, min(gain, _MAX_FLUIDSYNTH_GAIN))
