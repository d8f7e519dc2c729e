"""Music-theory rewards for piano rolls, after Jaques et al. (2016), for polyphony.

Every reward is a function of a binary piano roll `[T, 88]` that returns one value per frame
`[T]` (frame t's reward may look at frames before t, never after), so the policy gradient
can credit each step with the rewards that follow it. Values lie in [-1, 1]:

- `in_key`: fraction of the frame's notes in the key's scale, minus the fraction outside it
  (0 for a silent frame). The key is a set of pitch classes, `estimate_key` picks the major
  or harmonic-minor scale that covers most of a pitch-class histogram (a primer's, or the
  corpus's).
- `consonance`: over all pairs of simultaneous notes, (consonant - dissonant) / pairs;
  unisons/octaves, thirds, fourths, fifths and sixths count as consonant, seconds, the
  tritone and sevenths as dissonant. Frames with fewer than two notes: 0.
- `repetition`: -1 when the frame repeats the previous `max_repeat` frames exactly (a chord
  held longer than `max_repeat` frames, or a stuck sampler), else 0.
- `polyphony`: 0 when the number of notes lies within the corpus's range, else -1.
- `parallel_motion`: -1 when the outer voices (lowest and highest note) move in the same
  direction into a fifth or an octave from a fifth or an octave (parallel fifths/octaves),
  else 0.
"""

import dataclasses

import numpy as np

from srnn_tf.keyboard import LOWEST_NOTE, NUM_KEYS

REWARDS = ('in_key', 'consonance', 'repetition', 'polyphony', 'parallel_motion')
_PITCH_CLASS = (np.arange(NUM_KEYS) + LOWEST_NOTE) % 12
_CONSONANT = np.array([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0], bool)   # by interval mod 12
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)


def scale(tonic: int, mode: str = 'major') -> frozenset:
  """Pitch classes of a major or harmonic-minor scale."""
  steps = _MAJOR if mode == 'major' else _HARMONIC_MINOR
  return frozenset((tonic + s) % 12 for s in steps)


def estimate_key(pitch_class_histogram) -> tuple[str, frozenset]:
  """(name, pitch classes) of the 24 major/minor scales covering most of the histogram."""
  names = ('C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B')
  h = np.asarray(pitch_class_histogram, float)
  candidates = [(h[list(scale(t, m))].sum(), f'{names[t]} {m}', scale(t, m))
                for m in ('major', 'minor') for t in range(12)]
  _, name, classes = max(candidates, key=lambda c: c[0])
  return name, classes


def in_key(roll, key: frozenset):
  roll = np.asarray(roll, bool)
  inside = np.isin(_PITCH_CLASS, sorted(key))
  notes = roll.sum(1)
  good = roll[:, inside].sum(1)
  return np.where(notes > 0, (2 * good - notes) / np.maximum(notes, 1), 0.0)


def consonance(roll):
  roll = np.asarray(roll, bool)
  values = np.zeros(len(roll))
  for t, frame in enumerate(roll):
    keys = np.nonzero(frame)[0]
    if len(keys) < 2:
      continue
    intervals = (keys[None, :] - keys[:, None])[np.triu_indices(len(keys), 1)] % 12
    good = _CONSONANT[intervals].sum()
    values[t] = (2 * good - len(intervals)) / len(intervals)
  return values


def repetition(roll, max_repeat: int = 8):
  roll = np.asarray(roll, bool)
  same = np.concatenate([[False], np.all(roll[1:] == roll[:-1], axis=1)])
  run = np.zeros(len(roll), int)           # how many frames in a row equal their predecessor
  for t in range(1, len(roll)):
    run[t] = run[t - 1] + 1 if same[t] else 0
  return -(run >= max_repeat).astype(float)


def polyphony(roll, low: int, high: int):
  notes = np.asarray(roll, bool).sum(1)
  return -((notes < low) | (notes > high)).astype(float)


def parallel_motion(roll):
  roll = np.asarray(roll, bool)
  values = np.zeros(len(roll))
  for t in range(1, len(roll)):
    before, now = np.nonzero(roll[t - 1])[0], np.nonzero(roll[t])[0]
    if len(before) < 2 or len(now) < 2:
      continue
    (lo0, hi0), (lo1, hi1) = (before[0], before[-1]), (now[0], now[-1])
    perfect = lambda lo, hi: (hi - lo) % 12 in (0, 7)
    same_direction = np.sign(lo1 - lo0) == np.sign(hi1 - hi0) != 0
    if perfect(lo0, hi0) and perfect(lo1, hi1) and same_direction:
      values[t] = -1.0
  return values


@dataclasses.dataclass
class MusicReward:
  """A weighted sum of the rewards, with the corpus-dependent settings they need.

  Attributes:
    key: the pitch classes of the key (`estimate_key`).
    polyphony_range: `(low, high)` notes per frame considered normal.
    weights: {reward name: weight}; missing names weigh 0.
    max_repeat: frames a frame may repeat before `repetition` penalises it.
  """
  key: frozenset
  polyphony_range: tuple[int, int]
  weights: dict
  max_repeat: int = 8

  def terms(self, roll) -> dict:
    """{reward name: per-frame values `[T]`} for every reward."""
    return {'in_key': in_key(roll, self.key), 'consonance': consonance(roll),
            'repetition': repetition(roll, self.max_repeat),
            'polyphony': polyphony(roll, *self.polyphony_range),
            'parallel_motion': parallel_motion(roll)}

  def __call__(self, rolls):
    """Per-frame total rewards `[B, T]` and each term's `[B, T]` for a batch of rolls."""
    terms = [self.terms(r) for r in rolls]
    per_term = {name: np.stack([t[name] for t in terms]) for name in REWARDS}
    total = sum(self.weights.get(name, 0.0) * per_term[name] for name in REWARDS)
    return total, per_term

  @classmethod
  def from_corpus(cls, rolls, weights, max_repeat=8, percentiles=(2, 98)):
    """Key and polyphony range estimated from a corpus's (or a primer's) pieces."""
    from srnn_tf import music_stats
    stats = music_stats.roll_stats(rolls)
    _, key = estimate_key(stats.pitch_class)
    counts = np.concatenate([np.asarray(r, bool).sum(1) for r in rolls])
    low, high = np.percentile(counts, percentiles)
    return cls(key, (int(low), int(high)), dict(weights), max_repeat)
