"""What the NADE emission costs, side by side with the Bernoulli one in the same process.

    python -m benchmarks.nade [--models=rnn,srnn] [--nade_units=150] [--smc_pieces=2]
    python -m benchmarks.nade --models=srnn --smc_pieces=0     # SMC over the whole test set

Prints, for each model at the paper size: training throughput (time steps/s, JSB srnn2016
batches) with either emission and their ratio; sampling speed of one piece (frames/s, the
key-by-key NADE loop inside the compiled time loop); SMC (K=100) over the longest MuseData
test pieces (all 124 with `--smc_pieces=0`), seconds with either emission (after a warm-up
pass that traces each batch shape) and their ratio; and the process's peak memory.
Rates are medians over alternating repeats, so the ratios share the machine's state.
"""

import time

import numpy as np
from absl import flags

from srnn_tf import cli

from benchmarks import measure

_MODELS = flags.DEFINE_list('models', ['rnn', 'srnn'], 'Models to measure.')
_NADE_UNITS = flags.DEFINE_integer('nade_units', 150, 'H of the NADE emission.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Training steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Alternating measurements; medians reported.')
_SAMPLE_FRAMES = flags.DEFINE_integer('sample_frames', 400, 'Frames generated per piece.')
_SMC_PIECES = flags.DEFINE_integer('smc_pieces', 2, 'Longest MuseData test pieces for SMC '
                                   '(0: the whole test set).', lower_bound=0)
_DATA_DIR = cli.data_dir_flag()

EMISSIONS = ('bernoulli', 'nade')


def _train_rates(model_name):
  models = {}
  for emission in EMISSIONS:
    models[emission], batches = measure.model_and_batches(
        model_name, 'paper', _DATA_DIR.value, emission=emission, nade_units=_NADE_UNITS.value)
  frames = int(np.prod(batches[0]['mask'].shape))
  for model in models.values():
    for b in batches[:3]:
      model.train_on_batch(b)
  rates = {e: [] for e in EMISSIONS}
  for r in range(_REPEATS.value):
    for emission, model in models.items():
      start = time.perf_counter()
      for i in range(_STEPS.value):
        model.train_on_batch(batches[(r * _STEPS.value + i) % len(batches)])
      rates[emission].append(_STEPS.value * frames / (time.perf_counter() - start))
  return models, {e: float(np.median(v)) for e, v in rates.items()}


def main(argv):
  del argv
  cli.import_tensorflow_quietly(threads=(1, 2))   # as in training: each op on one core
  pieces = measure.longest_test_pieces('muse', _SMC_PIECES.value or None, _DATA_DIR.value)
  which = (f'{len(pieces)} longest MuseData test pieces' if _SMC_PIECES.value else
           f'whole MuseData test set, {len(pieces)} pieces')
  print(f'NADE emission (H={_NADE_UNITS.value}) against Bernoulli, paper size, '
        f'{_REPEATS.value} alternating repeats:')
  for name in _MODELS.value:
    models, train = _train_rates(name)
    sampling = {e: measure.sampling_rate(m, _SAMPLE_FRAMES.value, _REPEATS.value)
                for e, m in models.items()}
    line = (f'{name}: train {train["bernoulli"]:,.0f} / {train["nade"]:,.0f} time steps/s '
            f'(NADE {train["nade"] / train["bernoulli"]:.2f}x); sampling one piece '
            f'{sampling["bernoulli"]:,.0f} / {sampling["nade"]:,.0f} frames/s')
    if name != 'rnn':
      smc = {e: measure.eval_throughput(m, pieces, 'smc', 100, repeats=1)['seconds']
             for e, m in models.items()}
      line += (f'; SMC K=100 on the {which} ({sum(map(len, pieces)):,} frames) '
               f'{smc["bernoulli"]:.1f} / {smc["nade"]:.1f} s '
               f'(NADE {smc["nade"] / smc["bernoulli"]:.2f}x)')
    print(line, flush=True)
  print(f'peak memory of this process: {measure.peak_rss_mib():,.0f} MiB')


if __name__ == '__main__':
  cli.run(main)
