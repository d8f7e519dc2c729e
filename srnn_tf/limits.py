"""Limits on what an input or a request may allocate, checked before allocating.

A 45-byte MIDI file can ask for a note at tick 2^28, a 1.6 MB npz can inflate to gigabytes,
and `--batch_size=100000` asks a training step for more memory than the machine has: these
are refused with a message naming the limit and the flag that raises it. The defaults leave
room far beyond the real corpora and the published setups (the largest corpus, MuseData's
srnn2016 npz, is 504 MiB of arrays; real pieces are a few thousand frames long; the paper
trains on batches of 16 x 100 frames).

The limits are one process-wide `Limits`; the entry points set it from their flags (each
field is one, `cli`), a library caller with `configure`.
"""

import dataclasses

from srnn_tf.errors import LimitError  # noqa: F401  (re-exported for the readers)


def _limit(default: int, help_: str):
  return dataclasses.field(default=default, metadata={'help': help_})


@dataclasses.dataclass(frozen=True)
class Limits:
  """Each field is also a flag of every entry point, of the same name."""
  max_piece_frames: int = _limit(
      1_000_000, 'Longest piece (frames on the corpus grid) an input may hold; longer ones '
      'are refused before the piano roll is allocated.')
  max_midi_ticks: int = _limit(
      2 ** 25, 'Latest MIDI tick a file may reach (pretty_midi allocates 8 bytes per tick).')
  max_data_mb: int = _limit(
      1024, 'Most MiB the arrays of one npz file, or the piano rolls of one pickle, may '
      'unpack to.')
  max_batch_frames: int = _limit(
      100_000, 'Most frames (--batch_size x --seq_len) a training batch may hold: a step '
      'keeps every frame\'s activations for the backward pass (the paper\'s batches hold '
      '1,600).')
  max_sampled_frames: int = _limit(
      10_000_000, 'Most frames one generation may sample in all (pieces x frames each): they '
      'are held in memory, 352 bytes a frame, three times over.')

  max_particles: int = _limit(
      100_000, 'Most particles K of an IWAE or SMC estimate: every particle carries the '
      'model\'s whole state through every frame (the published estimates use K <= 1,000).')


_current = Limits()


def current() -> Limits:
  return _current


def configure(**values: int) -> Limits:
  """Sets the limits named (the others keep theirs); returns the new ones.

  Raises:
    ValueError: an unknown name, or a limit below 1.
  """
  global _current
  for name, value in values.items():
    if name not in Limits.__dataclass_fields__:
      raise ValueError(f'no limit {name!r}; the limits: {", ".join(Limits.__dataclass_fields__)}')
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError(f'{name}={value!r}: must be a positive integer')
  _current = dataclasses.replace(_current, **values)
  return _current


def check(value: int, name: str, what: str, where: str) -> None:
  """Raises `LimitError` if `value` exceeds the limit `name` (a `Limits` field)."""
  limit = getattr(_current, name)
  if value > limit:
    raise LimitError(f'{where}: {what} {value:,} exceeds the limit of {limit:,} (raise it with '
                     f'--{name})')


def piece_frames(frames: int, where: str) -> None:
  check(frames, 'max_piece_frames', 'piece length in frames', where)


def midi_ticks(ticks: int, where: str) -> None:
  check(ticks, 'max_midi_ticks', 'last MIDI tick', where)


def data_bytes(size: int, where: str) -> None:
  check(-(-size // 2 ** 20), 'max_data_mb', 'unpacked array size in MiB', where)


def batch_frames(batch_size: int, seq_len: int) -> None:
  check(batch_size * seq_len, 'max_batch_frames', 'frames per training batch',
        f'--batch_size={batch_size} x --seq_len={seq_len}')


def sampled_frames(pieces: int, frames: int, where: str) -> None:
  check(pieces * frames, 'max_sampled_frames', 'frames to sample', where)


def particles(num_particles: int) -> None:
  check(num_particles, 'max_particles', 'particles', f'--num_particles={num_particles}')
