"""Time to quality: wall time until a run's test ELBO per step first reaches a target, from
histories written with `train.py --monitor_test` (test ELBO and wall time after every epoch).

    python -m experiments.time_to_quality --runs=diag_jsb_srnn2016_200ep,fast_jsb_srnn2016_b64 \
        --reference=jsb_srnn2016_srnn_z100_d300 --target=-5.0

Reads `<results_dir>/<run>.history.csv` (and `.json` / `.config.json` when present); writes a
markdown table and a PNG of train / validation / test ELBO against epochs and wall time.
`--reference` runs (no per-epoch test ELBO) enter with their final test ELBO only.
"""

import csv
import json
import os

import numpy as np
from absl import app
from absl import flags

from experiments.published import PAPER_SRNN

_RUNS = flags.DEFINE_list('runs', None, 'Runs trained with --monitor_test.', required=True)
_REFERENCE = flags.DEFINE_list('reference', [], 'Runs to compare by final test ELBO.')
_TARGET = flags.DEFINE_float('target', -5.0, 'Test ELBO per step to reach.')
_PAPER = flags.DEFINE_float('paper', PAPER_SRNN['jsb'], 'Published number drawn for comparison '
                            '(default: the SRNN paper\'s JSB, experiments/published.py).')
_RESULTS_DIR = flags.DEFINE_string('results_dir', 'results/runs', 'Run JSONs and histories.')
_OUTPUT = flags.DEFINE_string('output', 'results/time_to_quality', 'Output prefix (.md, .png).')


def read_history(path):
  with open(path) as f:
    rows = list(csv.DictReader(f))
  return {k: np.array([float(r[k]) if r.get(k) else np.nan for r in rows]) for k in rows[0]}


def summarize(history, target):
  """Best test ELBO (and its epoch, 1-based) and the first epoch / wall time at `target`."""
  test = history['test_elbo']
  best = int(np.nanargmax(test))
  reached = np.flatnonzero(test >= target)
  first = int(reached[0]) if reached.size else None
  return {'epochs': len(test), 'best_test': float(test[best]), 'best_epoch': best + 1,
          'best_wall_s': float(history['wall_seconds'][best]),
          'target_epoch': None if first is None else first + 1,
          'target_wall_s': None if first is None else float(history['wall_seconds'][first])}


def _config(name):
  for suffix in ('.json', '.config.json'):
    path = os.path.join(_RESULTS_DIR.value, name + suffix)
    if os.path.exists(path):
      with open(path) as f:
        data = json.load(f)
      return data.get('config', data)
  return {}


def main(argv):
  del argv
  from srnn_tf import plots   # noqa: F401  (Agg backend)
  import matplotlib.pyplot as plt
  target = _TARGET.value
  lines = [f'# Time to a test ELBO of {target} per step', '',
           'From `python -m experiments.time_to_quality`; wall time is training time '
           '(training and validation passes, not the per-epoch test evaluation), summed over '
           'epochs, on this 2-core machine (one training at a time; short interactive jobs shared '
           'the cores at times, so these are upper bounds).', '',
           '| run | batch | lr | lr constant for | epochs | best test ELBO (epoch, wall) '
           f'| first epoch at {target} | wall time to {target} |',
           '|---|---|---|---|---|---|---|---|']
  fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
  for i, name in enumerate(_RUNS.value):
    h = read_history(os.path.join(_RESULTS_DIR.value, f'{name}.history.csv'))
    s, c = summarize(h, target), _config(name)
    reached = ('never' if s['target_epoch'] is None else str(s['target_epoch']))
    wall = ('-' if s['target_wall_s'] is None else f'{s["target_wall_s"] / 60:.1f} min')
    lines.append(f'| {name} | {c.get("batch_size", "?")} | {c.get("learning_rate", "?")} '
                 f'| {c.get("lr_constant_epochs", "?")} epochs | {s["epochs"]} '
                 f'| {s["best_test"]:.3f} ({s["best_epoch"]}, {s["best_wall_s"] / 60:.1f} min) '
                 f'| {reached} | {wall} |')
    epochs = np.arange(1, len(h['test_elbo']) + 1)
    color = f'C{i}'
    axes[0].plot(epochs, h['elbo'], color=color, ls=':', label=f'{name} train')
    axes[0].plot(epochs, h['val_elbo'], color=color, ls='--', label=f'{name} valid')
    axes[0].plot(epochs, h['test_elbo'], color=color, label=f'{name} test')
    axes[1].plot(h['wall_seconds'] / 60, h['test_elbo'], color=color, label=name)
  for j, name in enumerate(_REFERENCE.value):
    with open(os.path.join(_RESULTS_DIR.value, f'{name}.json')) as f:
      run = json.load(f)
    h = read_history(os.path.join(_RESULTS_DIR.value, f'{name}.history.csv'))
    c = run['config']
    lines.append(f'| {name} (reference: test at the end only) | {c["batch_size"]} '
                 f'| {c["learning_rate"]} | {c["lr_constant_epochs"]} epochs | {len(h["elbo"])} '
                 f'| {run["test"]["elbo_per_step"]:.3f} (final) '
                 f'| {"never" if run["test"]["elbo_per_step"] < target else "by the end"} | - |')
    color = f'C{len(_RUNS.value) + j}'
    epochs = np.arange(1, len(h['elbo']) + 1)
    axes[0].plot(epochs, h['elbo'], color=color, ls=':', label=f'{name} train')
    axes[0].plot(epochs, h['val_elbo'], color=color, ls='--', label=f'{name} valid')
    axes[0].plot([epochs[-1]], [run['test']['elbo_per_step']], 'o', color=color,
                 label=f'{name} test (final)')
  for ax in axes:
    ax.axhline(target, color='grey', lw=0.8)
    ax.axhline(_PAPER.value, color='black', lw=0.8, ls='-.', label=f'paper {_PAPER.value}')
    ax.set_ylim(-7, -3)
  axes[0].set(xlabel='epoch', ylabel='ELBO per step', title='train (dotted), valid (dashed), '
              'test (solid)')
  axes[1].set(xlabel='training wall time (min)', ylabel='test ELBO per step',
              title=f'test ELBO against wall time (grey: {target})')
  axes[0].legend(fontsize=7)
  axes[1].legend(fontsize=8)
  fig.tight_layout()
  os.makedirs(os.path.dirname(_OUTPUT.value) or '.', exist_ok=True)
  fig.savefig(_OUTPUT.value + '.png', dpi=100)
  lines += ['', f'![curves]({os.path.basename(_OUTPUT.value)}.png)', '']
  with open(_OUTPUT.value + '.md', 'w') as f:
    f.write('\n'.join(lines))
  print('\n'.join(lines))


if __name__ == '__main__':
  app.run(main)
