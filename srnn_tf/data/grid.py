"""Musical time and key: what one frame of a corpus spans, and whether its pieces were
transposed to C. Generation, reconstruction and priming read and write MIDI on the grid of
the corpus a model was trained on (a JSB sample written on a 16th-note grid plays four times
too fast; a primer read on the wrong grid is a different piece to the model).

What the corpora are, as measured (`python -m experiments.grids`; docs/data.md):

* Boulanger et al.'s splits (their dataset page): one frame per eighth note, per quarter note
  for JSB, following the MIDI beat; every piece transposed to C major or C minor. Their tempo
  is not recorded; the tempi below are those the srnn2016 frames imply (100 bpm for JSB,
  120 for Nottingham) and MIDI's default of 120 for the others.
* The srnn2016 release: every test piece of its JSB is a Boulanger JSB piece at exactly two
  frames per quarter note, in the same (C) key. Its Nottingham pieces are Boulanger's at 5
  frames per 6 eighth notes, in their original keys; MuseData's and Piano-midi's frame ratios
  vary from piece to piece (MuseData 1.0-1.7 frames per eighth note, Piano-midi 0.75-1.45),
  also in original keys. One constant fits all four: a fixed 0.3 s per frame (JSB at 100 bpm,
  Nottingham at 120 bpm), the `dt = 0.3` of Boulanger-Lewandowski's `midiread`. The release's
  grid is therefore taken as a time grid, written as 2 frames per quarter note at 100 bpm.
"""

import dataclasses

import numpy as np

NUM_PITCH_CLASSES = 12


@dataclasses.dataclass(frozen=True)
class Grid:
  """The time one frame spans, and the key convention.

  Attributes:
    frames_per_quarter: frames per quarter note.
    tempo: quarter notes per minute: the tempo MIDI files are written at, and with
      `frames_per_quarter` the seconds a frame spans on a time grid.
    beat_relative: True: frames follow the MIDI file's beats (ticks), so tempo changes do not
      stretch them; False: every frame spans `seconds_per_frame` of the performance.
    transposed_to_c: the corpus's pieces were transposed to C major or C minor, so a primer is
      transposed the same way before the model reads it.
  """
  frames_per_quarter: int = 4
  tempo: float = 120.0
  beat_relative: bool = True
  transposed_to_c: bool = False

  @property
  def seconds_per_frame(self) -> float:
    return 60.0 / (self.tempo * self.frames_per_quarter)

  def to_dict(self) -> dict:
    return {**dataclasses.asdict(self), 'seconds_per_frame': self.seconds_per_frame}

  @classmethod
  def from_dict(cls, fields: dict) -> 'Grid':
    return cls(**{f.name: fields[f.name] for f in dataclasses.fields(cls) if f.name in fields})


_SRNN2016 = Grid(frames_per_quarter=2, tempo=100.0, beat_relative=False)

GRIDS = {
    ('jsb', 'boulanger'): Grid(1, 100.0, True, True),
    ('nottingham', 'boulanger'): Grid(2, 120.0, True, True),
    ('muse', 'boulanger'): Grid(2, 120.0, True, True),
    ('piano', 'boulanger'): Grid(2, 120.0, True, True),
    ('jsb', 'srnn2016'): dataclasses.replace(_SRNN2016, transposed_to_c=True),
    ('nottingham', 'srnn2016'): _SRNN2016,
    ('muse', 'srnn2016'): _SRNN2016,
    ('piano', 'srnn2016'): _SRNN2016,
}


def corpus_grid(dataset: str, version: str, frames_per_quarter: int = 4) -> Grid:
  """The grid of a named corpus, or of a MIDI folder / file read at `frames_per_quarter`."""
  return GRIDS.get((dataset, version), Grid(frames_per_quarter=frames_per_quarter))


# Krumhansl & Kessler's (1982) key profiles: how well each pitch class fits a major / minor key
# whose tonic is pitch class 0.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_tonic(roll: np.ndarray, lowest_note: int = 21) -> tuple[int, str]:
  """The key of a piano roll `[T, 88]` by the Krumhansl-Schmuckler algorithm: the major or
  minor profile, over the 12 tonics, best correlated with the roll's pitch-class durations.

  Returns:
    `(tonic pitch class 0..11 (0 = C), 'major' | 'minor')`.
  """
  durations = np.asarray(roll, np.float64).sum(0)
  pitch_classes = (np.arange(durations.shape[0]) + lowest_note) % NUM_PITCH_CLASSES
  histogram = np.bincount(pitch_classes, weights=durations, minlength=NUM_PITCH_CLASSES)
  best = (-np.inf, 0, 'major')
  for mode, profile in (('major', _MAJOR), ('minor', _MINOR)):
    for tonic in range(NUM_PITCH_CLASSES):
      r = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
      if r > best[0]:
        best = (r, tonic, mode)
  return best[1], best[2]


def shift_to_c(roll: np.ndarray, lowest_note: int = 21) -> int:
  """The transposition in semitones, in [-6, 5], that moves the roll's estimated tonic to C."""
  tonic, _ = estimate_tonic(roll, lowest_note)
  return -tonic if tonic <= 6 else NUM_PITCH_CLASSES - tonic


def transpose(roll: np.ndarray, semitones: int) -> np.ndarray:
  """The roll moved up by `semitones` (down if negative); keys pushed off the 88 are dropped."""
  out = np.zeros_like(roll)
  if semitones >= 0:
    out[:, semitones:] = roll[:, :roll.shape[1] - semitones]
  else:
    out[:, :semitones] = roll[:, -semitones:]
  return out
