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


def render_wav(midi_path, wav_path, sample_rate=44100):
  """Renders `midi_path` to `wav_path`; raises RuntimeError saying what is missing."""
  reason = unavailable_reason()
  if reason:
    raise RuntimeError(f'cannot render {wav_path}: {reason}')
  subprocess.run(['fluidsynth', '-ni', '-F', str(wav_path), '-r', str(sample_rate),
                  find_soundfont(), str(midi_path)], check=True, capture_output=True)
