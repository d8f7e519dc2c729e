"""srnn_tf.data.pipeline: inputs u from x, training windows, shuffled and stateful training
datasets, and whole-sequence evaluation batches."""

import numpy as np
import pytest
import tensorflow as tf

from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import pipeline


def _sequences(lengths, seed=0, density=0.2):
  rng = np.random.default_rng(seed)
  return [(rng.random((n, 88)) < density).astype(np.uint8) for n in lengths]


def _numpy(batch):
  return {k: v.numpy() for k, v in batch.items()}


# ---------------------------------------------------------------------------------------------
# shift_inputs


def test_shift_inputs():
  x = _sequences([7])[0]
  u = pipeline.shift_inputs(x)
  assert u.shape == x.shape and u.dtype == x.dtype
  assert not u[0].any()
  np.testing.assert_array_equal(u[1:], x[:-1])
  first = (np.arange(88) % 5 == 0).astype(x.dtype)
  given = pipeline.shift_inputs(x, first)
  np.testing.assert_array_equal(given[0], first)
  np.testing.assert_array_equal(given[1:], x[:-1])
  np.testing.assert_array_equal(pipeline.shift_inputs(x[:1]), np.zeros((1, 88)))


# ---------------------------------------------------------------------------------------------
# training_windows


def test_training_windows():
  lengths = [10, 4, 5, 1]
  seqs = _sequences(lengths)
  w = pipeline.training_windows(seqs, seq_len=4)
  # 10 -> 4+4+2, 4 -> 4, 5 -> 4+1, 1 -> 1.
  assert w['x'].shape == (7, 4, 88) and w['u'].shape == (7, 4, 88) and w['mask'].shape == (7, 4)
  assert all(v.dtype == np.float32 for v in w.values())
  np.testing.assert_array_equal(w['mask'].sum(1), [4, 4, 2, 4, 4, 1, 1])
  assert w['mask'].sum() == sum(lengths)
  # Masks are prefixes; padding is zero in x and u.
  np.testing.assert_array_equal(w['mask'], np.sort(w['mask'], axis=1)[:, ::-1])
  assert not w['x'][w['mask'] == 0].any() and not w['u'][w['mask'] == 0].any()
  # The windows are the sequences' frames, in order.
  np.testing.assert_array_equal(w['x'][0], seqs[0][0:4])
  np.testing.assert_array_equal(w['x'][1], seqs[0][4:8])
  np.testing.assert_array_equal(w['x'][2, :2], seqs[0][8:10])
  np.testing.assert_array_equal(w['x'][4], seqs[2][0:4])
  np.testing.assert_array_equal(w['x'][5, :1], seqs[2][4:5])
  # u: a window that starts inside a sequence sees that sequence's previous frame.
  assert seqs[0][3].any() and seqs[0][7].any() and seqs[2][3].any()
  np.testing.assert_array_equal(w['u'][1, 0], seqs[0][3])
  np.testing.assert_array_equal(w['u'][2, 0], seqs[0][7])
  np.testing.assert_array_equal(w['u'][5, 0], seqs[2][3])
  # ... and a window that starts a sequence sees silence.
  for i in (0, 3, 4, 6):
    assert not w['u'][i, 0].any()
  for i in range(7):
    np.testing.assert_array_equal(w['u'][i, 1:], w['x'][i, :-1] * w['mask'][i, 1:, None])


def test_training_windows_rejects_bad_seq_len():
  with pytest.raises(ValueError):
    pipeline.training_windows(_sequences([3]), 0)


# ---------------------------------------------------------------------------------------------
# train_dataset


def _first_batches(ds, n):
  return [_numpy(b) for b in ds.take(n)]


def test_train_dataset():
  seqs = _sequences([23, 9, 17, 30, 12, 5])  # 3+2+3+4+2+1 = 15 windows of 8... plus padding
  windows = pipeline.training_windows(seqs, 8)
  n = len(windows['mask'])
  ds, steps = pipeline.train_dataset(seqs, seq_len=8, batch_size=4, seed=1)
  assert steps == -(-n // 4)
  for seq_len, batch_size in ((8, 4), (5, 3), (100, 16), (1, 7)):   # counted without windows
    assert pipeline.steps_per_epoch(seqs, seq_len, batch_size) == -(-len(
        pipeline.training_windows(seqs, seq_len)['mask']) // batch_size)
  batches = _first_batches(ds, 3 * steps + 2)  # it repeats: more batches than an epoch
  assert len(batches) == 3 * steps + 2
  for b in batches:
    assert b['x'].shape == (4, 8, 88) and b['u'].shape == (4, 8, 88) and b['mask'].shape == (4, 8)
    assert b['x'].dtype == np.float32
  # Every batch row is one of the windows (x, u and mask together).
  keys = {_window_key(windows, i) for i in range(n)}
  for b in batches:
    for r in range(4):
      assert _window_key(b, r) in keys

  # Same seed: same batches; another seed: another order.
  again = _first_batches(pipeline.train_dataset(seqs, seq_len=8, batch_size=4, seed=1)[0],
                         2 * steps)
  for a, b in zip(batches, again):
    for k in a:
      np.testing.assert_array_equal(a[k], b[k])
  other = _first_batches(pipeline.train_dataset(seqs, seq_len=8, batch_size=4, seed=2)[0],
                         steps)
  assert any(not np.array_equal(a['x'], b['x']) for a, b in zip(batches, other))


def _window_key(arrays, i):
  return tuple(arrays[k][i].tobytes() for k in ('x', 'u', 'mask'))


def test_train_dataset_epoch_is_a_permutation():
  seqs = _sequences([16, 8, 24, 8, 8])  # 8 windows of 8 frames, 2 batches of 4
  windows = pipeline.training_windows(seqs, 8)
  ds, steps = pipeline.train_dataset(seqs, seq_len=8, batch_size=4, seed=3)
  assert steps == 2
  first_epoch = _first_batches(ds, steps)
  got = sorted(_window_key(b, r) for b in first_epoch for r in range(4))
  assert got == sorted(_window_key(windows, i) for i in range(8))
  ordered = _first_batches(pipeline.train_dataset(seqs, 8, 4, shuffle=False)[0], 2)
  np.testing.assert_array_equal(ordered[0]['x'], windows['x'][:4])
  np.testing.assert_array_equal(ordered[1]['u'], windows['u'][4:])


# ---------------------------------------------------------------------------------------------
# stream_dataset


def test_stream_dataset_reproduces_srnn2016_batches(data_dir):
  c = corpus_lib.load_corpus('jsb', 'srnn2016', data_dir=data_dir)
  with np.load(data_dir / 'srnn2016' / 'jsb_raw_batchsize16_seqlen100.npz') as f:
    x_train, u_train = f['x_train'], f['u_train']
  ds, steps = pipeline.stream_dataset(c.splits['train'], seq_len=100, batch_size=16)
  assert steps == len(x_train) // 16 == 17
  batches = _first_batches(ds, steps + 1)
  for k, b in enumerate(batches[:steps]):
    rows = slice(k * 16, (k + 1) * 16)
    np.testing.assert_array_equal(b['x'], x_train[rows], err_msg=f'batch {k}')
    assert b['mask'].shape == (16, 100) and b['mask'].all()
    if k > 0:  # carried over from the previous batch's last frame, as in the release
      np.testing.assert_array_equal(b['u'], u_train[rows], err_msg=f'batch {k}')
    else:
      assert not b['u'][:, 0].any()
      np.testing.assert_array_equal(b['u'][:, 1:], b['x'][:, :-1])
  for key in batches[0]:  # and again from the start: it repeats
    np.testing.assert_array_equal(batches[steps][key], batches[0][key])


def test_pack_streams_and_stream_dataset_of_pieces():
  seqs = _sequences([30, 5, 12, 18, 7, 25, 9], seed=4)
  streams = pipeline.pack_streams(seqs, 3, seed=0)
  assert len(streams) == 3
  # Every piece lands in exactly one stream, whole, with its own u (u_1 = 0 at its start).
  remaining = {i: s for i, s in enumerate(seqs)}
  for x, u in streams:
    t = 0
    while t < len(x):
      i = next(i for i, s in remaining.items()
               if len(s) <= len(x) - t and np.array_equal(x[t:t + len(s)], s))
      s = remaining.pop(i)
      np.testing.assert_array_equal(u[t:t + len(s)], pipeline.shift_inputs(s))
      t += len(s)
  assert not remaining
  lengths = [len(x) for x, _ in streams]
  assert max(lengths) - min(lengths) <= max(len(s) for s in seqs)

  ds, steps = pipeline.stream_dataset(seqs, seq_len=10, batch_size=3, seed=0)
  assert steps == -(-max(lengths) // 10)
  batches = _first_batches(ds, steps)
  for b, (x, u) in enumerate(streams):
    got_x = np.concatenate([batch['x'][b] for batch in batches])
    got_u = np.concatenate([batch['u'][b] for batch in batches])
    mask = np.concatenate([batch['mask'][b] for batch in batches])
    assert mask.sum() == len(x) and mask[:len(x)].all()
    np.testing.assert_array_equal(got_x[:len(x)], x)
    np.testing.assert_array_equal(got_u[:len(x)], u)
    assert not got_x[len(x):].any()


def test_fewer_sequences_than_streams_are_cut_not_padded(data_dir):
  # The release's 16 JSB streams at a batch of 64: 4 contiguous parts each, no empty rows.
  c = corpus_lib.load_corpus('jsb', 'srnn2016', data_dir=data_dir)
  streams = pipeline.pack_streams(c.splits['train'], 64)
  assert len(streams) == 64 and min(len(x) for x, _ in streams) > 0
  np.testing.assert_array_equal(np.concatenate([x for x, _ in streams[:4]]),
                                c.splits['train'][0])
  # A part's inputs are the true previous frames, not a piece start.
  u = pipeline.shift_inputs(c.splits['train'][0])
  np.testing.assert_array_equal(np.concatenate([u for _, u in streams[:4]]), u)
  _, steps = pipeline.stream_dataset(c.splits['train'], seq_len=100, batch_size=64)
  assert steps == 5   # 17 windows of 16 rows before: the same frames in 64 rows


# ---------------------------------------------------------------------------------------------
# eval_batches / eval_dataset


LENGTHS = [13, 3, 40, 7, 7, 1, 22, 9, 30, 2, 18]


def _check_eval_batches(seqs, batches, batch_size, first_inputs=None):
  seen = []
  previous_max = 0
  for idx, f in batches:
    idx = list(idx)
    seen += idx
    lengths = [len(seqs[i]) for i in idx]
    assert 1 <= len(idx) <= batch_size
    assert lengths == sorted(lengths)            # sorted by length within
    assert max(lengths) >= previous_max          # and across batches
    assert min(lengths) >= previous_max
    previous_max = max(lengths)
    assert f['x'].shape == (len(idx), max(lengths), 88) == f['u'].shape
    assert f['mask'].shape == (len(idx), max(lengths))
    np.testing.assert_array_equal(f['mask'].sum(1), lengths)
    assert not f['x'][f['mask'] == 0].any() and not f['u'][f['mask'] == 0].any()
    for row, i in enumerate(idx):
      n = len(seqs[i])
      assert f['mask'][row, :n].all()
      np.testing.assert_array_equal(f['x'][row, :n], seqs[i])
      np.testing.assert_array_equal(f['u'][row, :n], pipeline.shift_inputs(
          seqs[i], None if first_inputs is None else first_inputs[i]))
  assert sorted(seen) == list(range(len(seqs)))  # every sequence exactly once


@pytest.mark.parametrize('batch_size', [1, 4, 16])
def test_eval_batches(batch_size):
  seqs = _sequences(LENGTHS)
  batches = pipeline.eval_batches(seqs, batch_size)
  assert len(batches) == -(-len(seqs) // batch_size)
  _check_eval_batches(seqs, batches, batch_size)


def test_eval_batches_with_given_first_inputs():
  seqs = _sequences(LENGTHS)
  first = [(np.arange(88) % (i + 2) == 0).astype(np.uint8) for i in range(len(seqs))]
  batches = pipeline.eval_batches(seqs, 4, first_inputs=first)
  _check_eval_batches(seqs, batches, 4, first_inputs=first)
  for idx, f in batches:           # each sequence gets its own u_1, wherever the sort put it
    for row, i in enumerate(idx):
      np.testing.assert_array_equal(f['u'][row, 0], first[i])


@pytest.mark.parametrize('cap', [1, 25, 60, 100])
def test_eval_batches_cap_frames_per_batch(cap):
  seqs = _sequences(LENGTHS)
  batches = pipeline.eval_batches(seqs, 8, max_frames_per_batch=cap)
  _check_eval_batches(seqs, batches, 8)
  for _, f in batches:
    b, t = f['mask'].shape
    assert b == 1 or b * t <= cap, (b, t, cap)
  assert len(batches) > len(pipeline.eval_batches(seqs, 8))  # every cap here bites


def test_eval_dataset():
  seqs = _sequences(LENGTHS)
  ds = pipeline.eval_dataset(seqs, batch_size=4)
  expected = pipeline.eval_batches(seqs, 4)
  assert int(ds.cardinality()) == len(expected) == 3
  for _ in range(2):  # it can be iterated again (each model.evaluate call does)
    got = [_numpy(b) for b in ds]
    assert len(got) == len(expected)
    for g, (_, e) in zip(got, expected):
      assert g.keys() == e.keys()
      for k in e:
        assert g[k].dtype == np.float32
        np.testing.assert_array_equal(g[k], e[k])
  assert ds.element_spec['x'].shape.as_list() == [None, None, 88]
  assert int(ds.take(2).cardinality()) == 2
  assert isinstance(ds, tf.data.Dataset)
