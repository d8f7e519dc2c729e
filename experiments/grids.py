"""Establishes the srnn2016 release's frame grid and key convention from the data, against
Boulanger et al.'s splits (whose grid and keys their dataset page documents).

    python -m experiments.grids            # writes results/data/grids.md

For each srnn2016 test piece, the sequence of melodic intervals of its top voice (transposition
and tempo invariant) is looked up among all Boulanger pieces; a piece found exactly once gives
a frame ratio (srnn2016 frames / Boulanger frames) and a transposition (the difference of their
median top notes). Independently, each corpus's test pieces' keys are estimated
(Krumhansl-Schmuckler, `data.grid.estimate_tonic`): transposed corpora have their tonic at C
far more often than the 1 in 12 of untransposed ones. `srnn_tf/data/grid.py` records the
conclusions.
"""

import os

import numpy as np
from absl import flags

from srnn_tf import cli
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import grid as grid_lib
from srnn_tf.data import registry

_DATA_DIR = cli.data_dir_flag()
_OUTPUT = flags.DEFINE_string('output', 'results/data/grids.md', 'The table written.')
_MOTIF = 14   # top-voice intervals looked up: long enough to be unique in most pieces


def _top_voice_intervals(roll: np.ndarray) -> str:
  tops = [int(np.nonzero(f)[0].max()) for f in roll if f.any()]
  distinct = [t for i, t in enumerate(tops) if i == 0 or t != tops[i - 1]]
  return ','.join(map(str, np.diff(distinct))) + ','


def _median_top(roll) -> float:
  return float(np.median([np.nonzero(f)[0].max() for f in roll if f.any()]))


def compare(name: str, data_dir) -> dict:
  boulanger = corpus_lib.load_corpus(name, 'boulanger', data_dir)
  release = corpus_lib.load_corpus(name, 'srnn2016', data_dir)
  index = [(roll, _top_voice_intervals(roll)) for split in registry.SPLITS
           for roll in boulanger.splits[split]]
  ratios, shifts = [], []
  for roll in release.splits['test']:
    motif = _top_voice_intervals(roll).split(',')[2:2 + _MOTIF]
    if len(motif) < _MOTIF:
      continue
    key = ','.join(motif) + ','
    hits = [other for other, intervals in index if key in intervals]
    if len(hits) == 1:
      ratios.append(len(roll) / len(hits[0]))
      shifts.append(round(_median_top(hits[0]) - _median_top(roll)))
  at_c = {version: float(np.mean([grid_lib.estimate_tonic(r)[0] == 0
                                  for r in corpus.splits['test']]))
          for version, corpus in (('boulanger', boulanger), ('srnn2016', release))}
  return {'pieces': len(release.splits['test']), 'matched': len(ratios),
          'ratio_median': float(np.median(ratios)) if ratios else float('nan'),
          'ratio_iqr': tuple(np.percentile(ratios, [25, 75])) if ratios else (np.nan,) * 2,
          'unshifted': float(np.mean(np.array(shifts) == 0)) if shifts else float('nan'),
          'at_c': at_c}


def main(argv):
  del argv
  rows = ['| corpus | srnn2016 test pieces matched | frames per Boulanger frame: median '
          '(IQR) | matched pieces in the same key | tonic at C, Boulanger | tonic at C, '
          'srnn2016 |', '|---|---|---|---|---|---|']
  for name in registry.CORPORA:
    r = compare(name, _DATA_DIR.value)
    rows.append(f'| {name} | {r["matched"]}/{r["pieces"]} | {r["ratio_median"]:.3f} '
                f'({r["ratio_iqr"][0]:.2f}-{r["ratio_iqr"][1]:.2f}) | {r["unshifted"]:.0%} | '
                f'{r["at_c"]["boulanger"]:.0%} | {r["at_c"]["srnn2016"]:.0%} |')
    print(rows[-1], flush=True)
  text = ('# The corpora\'s frame grids and keys, measured\n\n'
          'Written by `python -m experiments.grids` (method in its docstring; conclusions in '
          '`srnn_tf/data/grid.py` and docs/data.md).\n\n' + '\n'.join(rows) + '\n')
  os.makedirs(os.path.dirname(_OUTPUT.value) or '.', exist_ok=True)
  with open(_OUTPUT.value, 'w') as f:
    f.write(text)
  print(f'wrote {_OUTPUT.value}')


if __name__ == '__main__':
  cli.run(main)
