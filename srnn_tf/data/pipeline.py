"""tf.data input pipelines: training windows and whole-sequence evaluation batches.

Every element is a dict of features, the same for all models:

* ``x``: float32 `[B, T, 88]`, the piano roll (the target);
* ``u``: float32 `[B, T, 88]`, the input: the previous frame, `u_1 = 0`, `u_t = x_{t-1}`;
* ``mask``: float32 `[B, T]`, 1 on real frames, 0 on padding.

`u` is built from `x` over the whole sequence before it is cut into windows, so a window
that starts inside a piece sees that piece's previous frame, not silence.
"""

import numpy as np
import tensorflow as tf

from srnn_tf.keyboard import NUM_KEYS


def shift_inputs(x: np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
  """`u` for one sequence `x` `[T, 88]`: `u_1 = first` (default 0), `u_t = x_{t-1}`.

  `first` is for comparing with the SRNN paper like for like: the srnn2016 release's `u_test`
  has its own first input frame (`Corpus.first_inputs`), the first target frame itself in some
  pieces (the target leaks into the input at t = 1).
  """
  first = np.zeros_like(x[:1]) if first is None else np.asarray(first, x.dtype)[None]
  return np.concatenate([first, x[:-1]], axis=0)


def training_windows(sequences: list[np.ndarray], seq_len: int) -> dict[str, np.ndarray]:
  """Cuts sequences into consecutive windows of `seq_len` frames (the last one padded).

  Returns:
    {'x', 'u': float32 `[N, seq_len, 88]`, 'mask': float32 `[N, seq_len]`}.
  """
  if seq_len < 1:
    raise ValueError(f'seq_len must be positive, got {seq_len}')
  n = sum(-(-len(s) // seq_len) for s in sequences)
  x = np.zeros((n, seq_len, NUM_KEYS), np.float32)
  u = np.zeros_like(x)
  mask = np.zeros((n, seq_len), np.float32)
  i = 0
  for seq in sequences:
    seq_u = shift_inputs(seq)
    for start in range(0, len(seq), seq_len):
      stop = min(start + seq_len, len(seq))
      x[i, :stop - start] = seq[start:stop]
      u[i, :stop - start] = seq_u[start:stop]
      mask[i, :stop - start] = 1
      i += 1
  return {'x': x, 'u': u, 'mask': mask}


def steps_per_epoch(sequences: list[np.ndarray], seq_len: int, batch_size: int) -> int:
  """Batches in one pass over the training windows of `sequences` (`train_dataset`'s count,
  without building the windows)."""
  return -(-sum(-(-len(s) // seq_len) for s in sequences) // batch_size)


def train_dataset(sequences: list[np.ndarray], seq_len: int = 100, batch_size: int = 16,
                  seed: int = 0, shuffle: bool = True,
                  initial_epoch: int = 0) -> tuple[tf.data.Dataset, int]:
  """An endless dataset of shuffled training windows, and the number of steps per epoch.

  The dataset repeats (reshuffling each pass with a seeded order) so that Keras's `fit`
  with `steps_per_epoch` keeps one iterator alive: building a fresh iterator per epoch
  stalls several seconds at every epoch start on this hardware. `initial_epoch` skips the
  windows of that many epochs, so a resumed run gets the batches an uninterrupted one would
  (the order is a function of `seed` and the position in the stream).

  Returns:
    (dataset of dict batches `[batch_size, seq_len, ...]`, steps_per_epoch).
  """
  windows = training_windows(sequences, seq_len)
  n = len(windows['mask'])
  steps = steps_per_epoch(sequences, seq_len, batch_size)
  ds = tf.data.Dataset.from_tensor_slices(windows)
  if shuffle:
    ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
  ds = ds.repeat().skip(initial_epoch * steps * batch_size)
  ds = ds.batch(batch_size, drop_remainder=True)
  return ds.prefetch(tf.data.AUTOTUNE), steps


def eval_batches(sequences: list[np.ndarray], batch_size: int = 16,
                 first_inputs: list[np.ndarray] | None = None,
                 max_frames_per_batch: int | None = None) -> list[tuple[np.ndarray, dict]]:
  """Whole sequences, padded, in batches of similar length (sorted by length).

  Args:
    sequences: piano rolls `[T_i, 88]`.
    batch_size: at most this many sequences per batch.
    first_inputs: optional `u_1` `[88]` of each sequence (see `shift_inputs`).
    max_frames_per_batch: if set, also caps `batch * T_max` to bound memory on long pieces.

  Returns:
    A list of `(indices, features)`: the positions of the batch's sequences in `sequences`,
    and the feature dict `[b, T_max, ...]`.
  """
  order = np.argsort([len(s) for s in sequences], kind='stable')
  batches, start = [], 0
  while start < len(order):
    stop = min(start + batch_size, len(order))
    if max_frames_per_batch:
      while stop - start > 1 and (stop - start) * len(sequences[order[stop - 1]]) > \
          max_frames_per_batch:
        stop -= 1
    idx = order[start:stop]
    t_max = max(len(sequences[i]) for i in idx)
    x = np.zeros((len(idx), t_max, NUM_KEYS), np.float32)
    u = np.zeros_like(x)
    mask = np.zeros((len(idx), t_max), np.float32)
    for row, i in enumerate(idx):
      seq = sequences[i]
      x[row, :len(seq)] = seq
      u[row, :len(seq)] = shift_inputs(seq, None if first_inputs is None else first_inputs[i])
      mask[row, :len(seq)] = 1
    batches.append((idx, {'x': x, 'u': u, 'mask': mask}))
    start = stop
  return batches


def eval_dataset(sequences: list[np.ndarray], batch_size: int = 16,
                 first_inputs: list[np.ndarray] | None = None) -> tf.data.Dataset:
  """`eval_batches` as a finite `tf.data.Dataset` of feature dicts (for `model.evaluate`)."""
  batches = [features for _, features in eval_batches(sequences, batch_size, first_inputs)]
  spec = {'x': tf.TensorSpec([None, None, NUM_KEYS], tf.float32),
          'u': tf.TensorSpec([None, None, NUM_KEYS], tf.float32),
          'mask': tf.TensorSpec([None, None], tf.float32)}
  ds = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)
  return ds.apply(tf.data.experimental.assert_cardinality(len(batches)))


def pack_streams(sequences: list[np.ndarray], num_streams: int,
                 seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
  """Concatenates sequences into `num_streams` streams of similar length, for carried-state
  training. Pieces go, in a seeded random order, to the currently shortest stream.

  Each piece keeps its own inputs (`u_1 = 0` at every piece start). If there are exactly
  `num_streams` sequences (the srnn2016 release's 16 streams) they are used as they are. If
  there are fewer (those 16 streams at a batch of 64), each is cut into contiguous parts so
  that no stream is left empty; a part keeps its true inputs (its `u_1` is the frame before).

  Returns:
    A list of `num_streams` `(x, u)` pairs, each `[T_b, 88]`.
  """
  pieces = [(s, shift_inputs(s)) for s in sequences]
  if 0 < len(pieces) < num_streams:
    parts = -(-num_streams // len(pieces))
    cut = lambda n: np.linspace(0, n, parts + 1).astype(int)
    pieces = [(x[a:b], u[a:b]) for x, u in pieces
              for a, b in zip(cut(len(x))[:-1], cut(len(x))[1:]) if b > a]
  if len(pieces) == num_streams:
    return pieces
  order = np.random.default_rng(seed).permutation(len(pieces))
  streams = [[] for _ in range(num_streams)]
  lengths = np.zeros(num_streams, np.int64)
  for i in order:
    b = int(np.argmin(lengths))
    streams[b].append(pieces[i])
    lengths[b] += len(pieces[i][0])
  empty = np.zeros((0, NUM_KEYS), np.uint8)
  return [(np.concatenate([x for x, _ in s]) if s else empty,
           np.concatenate([u for _, u in s]) if s else empty) for s in streams]


def stream_dataset(sequences: list[np.ndarray], seq_len: int = 100, batch_size: int = 16,
                   seed: int = 0) -> tuple[tf.data.Dataset, int]:
  """Batches for carried-state training: row `b` of batch `k+1` continues row `b` of batch `k`.

  The sequences are packed into `batch_size` streams (`pack_streams`); batch `k` holds window
  `k` of every stream, in order, every epoch (shuffling would break the carried state).
  Streams shorter than the longest are padded with masked frames.

  Returns:
    (endless dataset of dict batches `[batch_size, seq_len, ...]`, steps_per_epoch).
  """
  streams = pack_streams(sequences, batch_size, seed)
  steps = max(-(-len(x) // seq_len) for x, _ in streams)
  x = np.zeros((batch_size, steps * seq_len, NUM_KEYS), np.float32)
  u = np.zeros_like(x)
  mask = np.zeros((batch_size, steps * seq_len), np.float32)
  for b, (xb, ub) in enumerate(streams):
    x[b, :len(xb)], u[b, :len(ub)], mask[b, :len(xb)] = xb, ub, 1
  to_batches = lambda a: np.ascontiguousarray(
      np.swapaxes(a.reshape(batch_size, steps, seq_len, *a.shape[2:]), 0, 1))
  ds = tf.data.Dataset.from_tensor_slices(
      {'x': to_batches(x), 'u': to_batches(u), 'mask': to_batches(mask)})
  return ds.repeat().prefetch(tf.data.AUTOTUNE), steps
