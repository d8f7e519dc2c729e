"""Limits on what reading an input may allocate, checked before allocating.

A 45-byte MIDI file can ask for a note at tick 2^28, and a 1.6 MB npz can inflate to
gigabytes: the readers refuse such input with a message naming the limit and the flag that
raises it. The defaults leave room far beyond the real corpora (the largest, MuseData's
srnn2016 npz, is 504 MiB of arrays; real pieces are a few thousand frames long).
"""

from absl import flags

from srnn_tf.errors import LimitError  # noqa: F401  (re-exported for the readers)

_MAX_PIECE_FRAMES = flags.DEFINE_integer(
    'max_piece_frames', 1_000_000, 'Longest piece (frames on the corpus grid) an input may '
    'hold; longer ones are refused before the piano roll is allocated.', lower_bound=1)
_MAX_MIDI_TICKS = flags.DEFINE_integer(
    'max_midi_ticks', 2 ** 25, 'Latest MIDI tick a file may reach (pretty_midi allocates 8 '
    'bytes per tick).', lower_bound=1)
_MAX_DATA_MB = flags.DEFINE_integer(
    'max_data_mb', 1024, 'Most MiB the arrays of one npz file, or the piano rolls of one '
    'pickle, may unpack to.', lower_bound=1)


def _value(holder):
  return holder.value if flags.FLAGS.is_parsed() else holder.default


def check(value: int, holder, what: str, where: str) -> None:
  """Raises `LimitError` if `value` exceeds the limit of flag `holder`."""
  limit = _value(holder)
  if value > limit:
    raise LimitError(f'{where}: {what} {value:,} exceeds the limit of {limit:,} (raise it with '
                     f'--{holder.name})')


def piece_frames(frames: int, where: str) -> None:
  check(frames, _MAX_PIECE_FRAMES, 'piece length in frames', where)


def midi_ticks(ticks: int, where: str) -> None:
  check(ticks, _MAX_MIDI_TICKS, 'last MIDI tick', where)


def data_bytes(size: int, where: str) -> None:
  check(-(-size // 2 ** 20), _MAX_DATA_MB, 'unpacked array size in MiB', where)
