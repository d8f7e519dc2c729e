"""Piano rolls <-> MIDI files, with pretty_midi.

A piano roll is a binary array ``roll[t, k]`` of shape ``(T, 88)``: key ``k`` (MIDI note
``21 + k``, A0..C8) sounds in frame ``t``. Frames lie on a beat-relative grid of
``frames_per_quarter`` frames per quarter note, computed from MIDI ticks, so tempo changes
do not stretch the grid, or on a time grid of ``seconds_per_frame`` (the srnn2016 release's;
`data.grid`). Reading merges all non-drum instruments; notes outside the 88 keys are counted
and reported, never silently dropped.
"""

import dataclasses
import os
import warnings

import mido
import numpy as np
import pretty_midi

from srnn_tf.data import grid as grid_lib
from srnn_tf import limits
from srnn_tf.data.errors import DataError
# Also names of this module (`midi.NUM_KEYS`), as they were before the keyboard had its own.
from srnn_tf.keyboard import HIGHEST_NOTE, LOWEST_NOTE, NUM_KEYS  # noqa: F401



@dataclasses.dataclass(frozen=True)
class MidiRoll:
  """A MIDI file read onto the frame grid.

  Attributes:
    roll: uint8 array `[T, 88]`.
    num_notes: notes read from non-drum instruments.
    out_of_range: how many of them lie outside MIDI notes 21..108 (not in `roll`).
    source: the file read.
  """
  roll: np.ndarray
  num_notes: int
  out_of_range: int
  source: str


def _load_pretty_midi(path: str) -> pretty_midi.PrettyMIDI:
  if os.path.isdir(path):
    raise DataError(f'{path}: a folder, not a MIDI file')
  if not os.path.isfile(path):
    raise DataError(f'{path}: no such MIDI file')
  if os.path.getsize(path) == 0:
    raise DataError(f'{path}: empty file, not a MIDI file')
  try:
    # pretty_midi allocates a float per tick up to the last one: bound it first.
    last_tick = max((sum(msg.time for msg in track) for track in mido.MidiFile(path).tracks),
                    default=0)
    limits.midi_ticks(last_tick, path)
    with warnings.catch_warnings():
      warnings.simplefilter('ignore')  # pretty_midi warns about meta events on other tracks
      return pretty_midi.PrettyMIDI(path)
  except limits.LimitError:
    raise
  except Exception as e:  # mido and pretty_midi raise a zoo of types for corrupt files
    raise DataError(f'{path}: not a readable MIDI file ({type(e).__name__}: {e})') from None


def read_midi(path: str | os.PathLike, frames_per_quarter: int = 4,
              seconds_per_frame: float | None = None) -> MidiRoll:
  """Reads a MIDI file into a piano roll on a grid of `frames_per_quarter` per quarter note
  (or, given `seconds_per_frame`, of that many seconds per frame).

  A note covers frames `[round(start / f), round(end / f))` with `f` the ticks (seconds) per
  frame, and at least the frame it starts in.

  Raises:
    DataError: naming the file, if it is missing, empty, unreadable or has no notes.
  """
  path = os.fspath(path)
  if frames_per_quarter < 1:
    raise DataError(f'{path}: frames per quarter note must be at least 1, got '
                    f'{frames_per_quarter}')
  if seconds_per_frame is not None and not seconds_per_frame > 0:
    raise DataError(f'{path}: seconds per frame must be positive, got {seconds_per_frame}')
  pm = _load_pretty_midi(path)
  if seconds_per_frame is None:
    ticks_per_frame = pm.resolution / frames_per_quarter
    to_frame = lambda seconds: pm.time_to_tick(seconds) / ticks_per_frame  # noqa: E731
    grid_name = f'{frames_per_quarter} frames per quarter note'
  else:
    to_frame = lambda seconds: seconds / seconds_per_frame  # noqa: E731
    grid_name = f'{seconds_per_frame:g} s per frame'
  spans, out_of_range = [], 0
  for inst in pm.instruments:
    if inst.is_drum:
      continue
    for note in inst.notes:
      if not LOWEST_NOTE <= note.pitch <= HIGHEST_NOTE:
        out_of_range += 1
        continue
      start = int(round(to_frame(note.start)))
      end = max(start + 1, int(round(to_frame(note.end))))
      spans.append((note.pitch - LOWEST_NOTE, start, end))
  num_notes = len(spans) + out_of_range
  if num_notes == 0:
    raise DataError(f'{path}: MIDI file has no notes (outside drum tracks)')
  if not spans:
    raise DataError(f'{path}: all {num_notes} notes lie outside the piano range '
                    f'{LOWEST_NOTE}..{HIGHEST_NOTE}')
  frames = max(end for _, _, end in spans)
  limits.piece_frames(frames, f'{path} at {grid_name}')
  roll = np.zeros((frames, NUM_KEYS), np.uint8)
  for key, start, end in spans:
    roll[start:end, key] = 1
  return MidiRoll(roll, num_notes, out_of_range, path)


def read_on_grid(path: str | os.PathLike, grid: grid_lib.Grid,
                 transpose: bool = True) -> tuple[MidiRoll, int]:
  """Reads a MIDI file as a model trained on a corpus of `grid` saw its pieces: on the
  corpus's frame grid and, when its pieces were transposed to C major / minor (and
  `transpose`), moved by the semitones that bring its estimated tonic to C.

  Returns:
    `(the roll read, the semitones it was moved by)`.
  """
  if grid.beat_relative:
    read = read_midi(path, grid.frames_per_quarter)
  else:
    read = read_midi(path, seconds_per_frame=grid.seconds_per_frame)
  if not (transpose and grid.transposed_to_c):
    return read, 0
  shift = grid_lib.shift_to_c(read.roll, LOWEST_NOTE)
  return dataclasses.replace(read, roll=grid_lib.transpose(read.roll, shift)), shift


def roll_to_midi(roll, frames_per_quarter: int = 4, tempo: float = 120.0,
                 program: int = 0, velocity: int = 80) -> pretty_midi.PrettyMIDI:
  """Turns a binary piano roll `[T, 88]` into a one-instrument `PrettyMIDI` at constant tempo.

  Each run of consecutive active frames of a key becomes one note (a roll cannot tell a held
  note from a repeated one). The tick resolution is a multiple of `frames_per_quarter`, so
  `read_midi` of the result gives back the same roll.
  """
  roll = np.asarray(roll)
  if roll.ndim != 2 or roll.shape[1] != NUM_KEYS:
    raise ValueError(f'piano roll must have shape [T, {NUM_KEYS}], got {roll.shape}')
  pm = pretty_midi.PrettyMIDI(resolution=96 * frames_per_quarter, initial_tempo=tempo)
  inst = pretty_midi.Instrument(program=program)
  seconds_per_frame = 60.0 / (tempo * frames_per_quarter)
  # Pad with silence so every run has a rising and a falling edge.
  edges = np.diff(np.pad(roll > 0, ((1, 1), (0, 0))).astype(np.int8), axis=0)
  for key in range(NUM_KEYS):
    starts, = np.nonzero(edges[:, key] == 1)
    ends, = np.nonzero(edges[:, key] == -1)
    for s, e in zip(starts, ends):
      inst.notes.append(pretty_midi.Note(velocity, LOWEST_NOTE + key,
                                         s * seconds_per_frame, e * seconds_per_frame))
  inst.notes.sort(key=lambda n: (n.start, n.pitch))
  pm.instruments.append(inst)
  return pm


def write_midi(roll, path: str | os.PathLike, **kwargs) -> None:
  """Writes `roll` to the MIDI file `path` (keyword arguments as for `roll_to_midi`)."""
  roll_to_midi(roll, **kwargs).write(os.fspath(path))
