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


def render(midi_path, audio_path, sample_rate=44100):
  """Renders `midi_path` to `audio_path`, whose extension (one of `FORMATS`) sets the file
  type; raises RuntimeError saying what is missing."""
  file_type = os.path.splitext(str(audio_path))[1].lstrip('.')
  if file_type not in FORMATS:
    raise ValueError(f'{audio_path}: audio files are {", ".join(FORMATS)}')
  reason = unavailable_reason()
  if reason:
    raise RuntimeError(f'cannot render {audio_path}: {reason}')
  subprocess.run(['fluidsynth', '-ni', '-F', str(audio_path), '-T', file_type,
                  '-r', str(sample_rate), find_soundfont(), str(midi_path)],
                 check=True, capture_output=True)

