"""Simple music statistics of binary piano rolls `[T, 88]`, to compare samples with data.

No TensorFlow: numpy only. Every statistic is a histogram (a probability vector), so two sets
of pieces are compared by the total-variation distance of their histograms (0: identical,
1: disjoint); summary numbers (means) make tables readable.

- polyphony: notes sounding per frame (0..MAX_POLYPHONY, the last bin "or more");
- pitch: how often each of the 88 keys sounds (per sounding note-frame);
- pitch class: the same folded onto the 12 pitch classes (C = 0);
- duration: lengths in frames of held notes (a key on for consecutive frames), 1..MAX_DURATION;
- repetition: fraction of frames equal to the previous frame (held chords, or a stuck model).

and one of structure over more than a frame, which the histograms cannot see:

- stretch repeats: how often an L-frame stretch (L = 4, 8, 16) repeats one that ended before
  it began in the same piece (a returning phrase, a sequence, a refrain). It grows with a
  piece's length, so sets are compared at equal lengths (`windows`).
"""

import dataclasses

import numpy as np

from srnn_tf.keyboard import LOWEST_NOTE, NUM_KEYS

MAX_POLYPHONY = 8
MAX_DURATION = 32
PITCH_CLASS_NAMES = ('C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B')


def note_durations(roll):
  """Lengths (frames) of every run of consecutive 1s of every key: int array."""
  roll = np.asarray(roll, bool)
  padded = np.pad(roll, ((1, 1), (0, 0)))
  change = np.diff(padded.astype(np.int8), axis=0)          # +1 at onsets, -1 after offsets
  onset_t, onset_k = np.nonzero(change == 1)
  offset_t, offset_k = np.nonzero(change == -1)
  # Sort both by key then time, so the i-th onset of a key pairs with its i-th offset.
  onsets = onset_t[np.lexsort((onset_t, onset_k))]
  offsets = offset_t[np.lexsort((offset_t, offset_k))]
  return offsets - onsets


@dataclasses.dataclass
class RollStats:
  """Histograms pooled over a set of pieces (each a probability vector), plus counts."""
  polyphony: np.ndarray      # [MAX_POLYPHONY + 1]
  pitch: np.ndarray          # [88]
  pitch_class: np.ndarray    # [12]
  duration: np.ndarray       # [MAX_DURATION]: 1..MAX_DURATION frames, last bin "or longer"
  repetition: float
  frames: int
  notes: int

  def summary(self) -> dict:
    """Readable numbers: means and ranges of the histograms."""
    keys = np.arange(NUM_KEYS) + LOWEST_NOTE
    nonzero = np.nonzero(self.pitch > 0.001)[0]
    return {
        'notes_per_frame': float(self.polyphony @ np.arange(MAX_POLYPHONY + 1)),
        'silent_frames': float(self.polyphony[0]),
        'mean_pitch': float(self.pitch @ keys),
        'pitch_std': float(np.sqrt(self.pitch @ (keys - self.pitch @ keys) ** 2)),
        'pitch_range': (int(keys[nonzero[0]]), int(keys[nonzero[-1]])) if len(nonzero) else None,
        'mean_duration': float(self.duration @ np.arange(1, MAX_DURATION + 1)),
        'repetition': self.repetition,
    }


def _normalise(counts):
  total = counts.sum()
  return counts / total if total else counts.astype(float)


def roll_stats(rolls) -> RollStats:
  """Statistics of a list of piano rolls, each `[T_i, 88]` of 0/1."""
  polyphony = np.zeros(MAX_POLYPHONY + 1)
  pitch = np.zeros(NUM_KEYS)
  duration = np.zeros(MAX_DURATION)
  repeats = transitions = frames = notes = 0
  for roll in rolls:
    roll = np.asarray(roll) > 0.5
    if roll.ndim != 2 or roll.shape[1] != NUM_KEYS:
      raise ValueError(f'a piano roll must be [T, {NUM_KEYS}], got {roll.shape}')
    per_frame = roll.sum(1)
    polyphony += np.bincount(np.minimum(per_frame, MAX_POLYPHONY), minlength=MAX_POLYPHONY + 1)
    pitch += roll.sum(0)
    lengths = note_durations(roll)
    duration += np.bincount(np.minimum(lengths, MAX_DURATION) - 1, minlength=MAX_DURATION)
    repeats += int(np.all(roll[1:] == roll[:-1], axis=1).sum())
    transitions += max(len(roll) - 1, 0)
    frames += len(roll)
    notes += len(lengths)
  pitch_class = np.zeros(12)
  np.add.at(pitch_class, (np.arange(NUM_KEYS) + LOWEST_NOTE) % 12, pitch)
  return RollStats(_normalise(polyphony), _normalise(pitch), _normalise(pitch_class),
                   _normalise(duration), repeats / max(transitions, 1), frames, notes)


STRETCHES = (4, 8, 16)


def windows(rolls, length: int) -> list:
  """The rolls cut into consecutive non-overlapping windows of `length` frames (the remainder
  of each dropped): held-out pieces made comparable with samples of that length."""
  return [np.asarray(roll)[start:start + length] for roll in rolls
          for start in range(0, len(roll) - length + 1, length)]


def stretch_repeats(rolls, lengths=STRETCHES) -> dict:
  """For each L in `lengths`, the fraction of the L-frame stretches of `rolls` (each `[T, 88]`)
  that repeat exactly an earlier stretch of the same piece ending before they start (so a
  chord held for L + 1 frames is not a repeat of itself shifted by one); silent stretches are
  left out (a rest repeats trivially). `{L: fraction}`, NaN where no stretch is long enough."""
  out = {}
  for length in lengths:
    repeated = total = 0
    for roll in rolls:
      roll = np.asarray(roll) > 0.5
      first_start = {}
      for start in range(len(roll) - length + 1):
        stretch = roll[start:start + length]
        if not stretch.any():
          continue
        key = np.packbits(stretch).tobytes()
        earlier = first_start.setdefault(key, start)
        total += 1
        repeated += earlier + length <= start
    out[length] = repeated / total if total else float('nan')
  return out


def total_variation(p, q) -> float:
  """Total-variation distance of two histograms: half the L1 distance, in [0, 1]."""
  return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def compare(stats: RollStats, reference: RollStats) -> dict:
  """Distances of `stats` from `reference`, one per histogram (lower is closer)."""
  return {f'tv_{name}': total_variation(getattr(stats, name), getattr(reference, name))
          for name in ('polyphony', 'pitch', 'pitch_class', 'duration')}
