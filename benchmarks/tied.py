"""What the tied-parallel models cost at Johnson's sizes, against the machine's matmul peak.

    python -m benchmarks.tied [--models=balstm,tp_lstm_nade] [--repeats=3] [--recurrences]

Prints, for each model (`--config=balstm` / `tp_lstm_nade`: time axis 2 x 200, key axis
2 x 100 or a tied NADE of 100), on JSB training batches (Boulanger splits, 16 x 100 frames):

* training throughput (time steps/s, the median over alternating repeats), and what it means
  for an epoch of each corpus (its training frames / that rate, validation excluded);
* the FLOPs of a training step per time step, counted by TF's profiler on the graph of the
  key-by-key oracle of the tests (`srnn_tf.testing.tied_oracle`: its loops unrolled in
  Python, so every step is visible; the fast model's while-loop bodies would be counted
  once), and the GFLOP/s that makes, against the fp32 matmul rate of the time axis's own
  product (`[B * 88, 200] x [200, 800]`) measured in the same process and thread settings;
* sampling one piece (frames/s, the key axis unrolled in the compiled time loop);
* the process's peak memory.

With `--recurrences`, first what the LSTM loops alone take of a BALSTM training step
(`recurrences.lstm` forward and backward, one core, at the step's shapes: a time-axis layer
runs the batch's windows over B x 88 rows, a key-axis layer its 88 keys over B x T rows),
beside that step (`--recurrence_batch` windows of 100 frames).
"""

import time

import numpy as np
from absl import flags

from srnn_tf import cli

from benchmarks import measure

_MODELS = flags.DEFINE_list('models', ['balstm', 'tp_lstm_nade'], 'Tied models to measure.')
_STEPS = flags.DEFINE_integer('steps', 2, 'Training steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Alternating measurements; medians reported.')
_SAMPLE_FRAMES = flags.DEFINE_integer('sample_frames', 200, 'Frames generated per piece.')
_RECURRENCES = flags.DEFINE_bool('recurrences', False, 'Also time the LSTM loops alone against '
                                  'a BALSTM training step.')
_RECURRENCE_BATCH = flags.DEFINE_integer('recurrence_batch', 4, 'Windows per batch for '
                                         '--recurrences (the configs\' 4).')
_DATA_DIR = cli.data_dir_flag()

# Training frames of each corpus (Boulanger splits), for the epoch times.
TRAIN_FRAMES = {'jsb': 13_807, 'piano': 75_911, 'nottingham': 176_561, 'muse': 245_202}


def _batches(config):
  from srnn_tf.data import corpus as corpus_lib, pipeline
  corpus = corpus_lib.load_corpus('jsb', 'boulanger', _DATA_DIR.value)
  ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len, config.batch_size)
  return [{k: v.numpy() for k, v in b.items()} for b in ds.take(steps)], steps


def recurrence_shares():
  """Prints the seconds of the BALSTM's four LSTM loops (forward and backward) against its
  whole training step, at `--recurrence_batch` windows."""
  from srnn_tf import configs, trainer
  batch = _RECURRENCE_BATCH.value
  config = configs.get_config('balstm', dataset='jsb', data_dir=_DATA_DIR.value,
                              batch_size=batch)
  batches, steps = _batches(config)
  model = trainer.build_model(config, steps)
  for b in batches[:2]:
    model.train_on_batch(b)
  times = []
  for i in range(_REPEATS.value):
    start = time.perf_counter()
    model.train_on_batch(batches[(i + 2) % len(batches)])
    times.append(time.perf_counter() - start)
  step = float(np.median(times))
  frames = config.seq_len
  layers = ([('time', frames, batch * 88, units) for units in config.time_units] +
            [('key', 88, batch * frames, units) for units in config.key_units])
  total = 0.0
  for axis, length, rows, units in layers:
    seconds = measure.lstm_seconds(length, rows, units, _REPEATS.value)
    total += seconds
    print(f'{axis}-axis LSTM, {length} steps x {rows} rows x {units} units, forward and '
          f'backward: {seconds:.3f} s', flush=True)
  print(f'BALSTM training step, {batch} x {frames} frames: {step:.2f} s, of which the LSTM '
        f'loops {total:.2f} s ({100 * total / step:.0f}%)', flush=True)


def main(argv):
  del argv
  cli.import_tensorflow_quietly(threads=(1, 2))   # as in training: each op on one core
  from srnn_tf import configs, trainer
  if _RECURRENCES.value:
    recurrence_shares()
  if not _MODELS.value:
    return
  models, batches = {}, None
  for name in _MODELS.value:
    config = configs.get_config(name, dataset='jsb', data_dir=_DATA_DIR.value)
    if batches is None:
      batches, steps = _batches(config)
    models[name] = trainer.build_model(config, steps)
  frames = int(np.prod(batches[0]['mask'].shape))
  for model in models.values():
    model.train_on_batch(batches[0])
  rates = {name: [] for name in models}
  for r in range(_REPEATS.value):
    for name, model in models.items():
      start = time.perf_counter()
      for i in range(_STEPS.value):
        model.train_on_batch(batches[(r * _STEPS.value + i + 1) % len(batches)])
      rates[name].append(_STEPS.value * frames / (time.perf_counter() - start))
  peak = measure.matmul_gflops(16 * 88, 200, 800)
  print(f'fp32 matmul peak, [{16 * 88}, 200] x [200, 800] on one core: {peak:.1f} GFLOP/s')
  for name, model in models.items():
    rate = float(np.median(rates[name]))
    flops = measure.tied_train_flops_per_step(model)
    achieved = flops * rate / 1e9
    epochs = ', '.join(f'{corpus} {n / rate / 60:.0f} min' for corpus, n in TRAIN_FRAMES.items())
    sampling = measure.sampling_rate(model, _SAMPLE_FRAMES.value, _REPEATS.value)
    print(f'{name}: {trainer.trainable_parameters(model):,} parameters; train {rate:,.0f} time '
          f'steps/s '
          f'({flops / 1e6:,.0f} MFLOP per time step: {achieved:.1f} GFLOP/s, '
          f'{100 * achieved / peak:.0f}% of the matmul peak); an epoch: {epochs}; '
          f'sampling one piece {sampling:,.0f} frames/s', flush=True)
  print(f'peak memory of this process: {measure.peak_rss_mib():,.0f} MiB')


if __name__ == '__main__':
  cli.run(main)
