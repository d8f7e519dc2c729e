"""Builds results/REPORT.md: the report's z/d experiments reproduced, beside its numbers.

    python -m experiments.make_report --sweep        # run (or resume) the sweep, then build
    python -m experiments.make_report                # build from the runs finished so far

Contents: (a) the test-ELBO table over z (and d) beside the report's and the paper's numbers,
(b) validation-ELBO curves for varying z and d, (c) a reconstruction figure per corpus (from
the z chosen on validation), (d) test cross-entropy per corpus and z. Numbers come from the run
JSONs in `--results_dir` (committed), curves from their history CSVs: the report shows
finished runs only, so it is the same whatever is training ("not run" marks a missing cell).
"""

import glob
import os
import subprocess
import sys

import numpy as np
from absl import app
from absl import flags

from experiments import sweep
from experiments.published import PAPER_SRNN, REPORT, load_run, release_first_frame

_SWEEP = flags.DEFINE_bool('sweep', False, 'First run (or resume) the sweep of z and d.')
_OUT = flags.DEFINE_string('output', 'results/REPORT.md', 'Markdown file to write.')
_FIGURES = flags.DEFINE_string('figures_dir', 'results/report', 'Where the PNGs go.')
_RECONSTRUCT = flags.DEFINE_bool('reconstructions', True,
                                 'Make the reconstruction figures (needs the run directories).')

TITLES = {'jsb': 'JSB', 'nottingham': 'Nottingham', 'muse': 'MuseData', 'piano': 'Piano'}
PAPER = PAPER_SRNN   # z=100, d=300


def collect(datasets, version):
  """{(dataset, z, d): {'name', 'status', 'run' (run JSON or None), 'history' (array or None)}}."""
  cells = {}
  for run in sweep.plan(['z', 'd'], datasets, version):
    c = run.config
    json_path = os.path.join(flags.FLAGS.results_dir, f'{run.name}.json')
    history_path = os.path.join(flags.FLAGS.results_dir, f'{run.name}.history.csv')
    record = load_run(json_path) if os.path.exists(json_path) else None
    history = None
    if record and os.path.exists(history_path):
      history = np.genfromtxt(history_path, delimiter=',', names=True)
      history = np.atleast_1d(history) if history.size else None
    cells[(c.dataset, c.z_dim, c.d_dim)] = {
        'name': run.name, 'status': 'final' if record else 'not run', 'run': record,
        'history': history}
  return cells


def _release(run):
  """The release-first-frame number; '*' marks one measured on a retrained run."""
  release = release_first_frame(run)
  if release is None:
    return '-'
  return f'{release:.3f}' + ('*' if 'test_release_first_frame_retrained_plain' in run else '')


def _ours(cell):
  """'plain (release first frames)' test ELBO per step of a finished run ('-' where the
  latter was not measured), else its status in italics."""
  if cell['run']:
    return f'{cell["run"]["test"]["elbo_per_step"]:.3f} ({_release(cell["run"])})'
  return f'_{cell["status"]}_'


def table_z(cells, datasets):
  lines = ['| z | ' + ' | '.join(f'{TITLES[d]}: ours (release) / report' for d in datasets) + ' |',
           '|---|' + '---|' * len(datasets)]
  for z in sweep.Z_GRID:
    row = [str(z)] + [f'{_ours(cells[(d, z, 300)])} / '
                      + (f'{REPORT[z][d]:.3f}' if z in REPORT else '-') for d in datasets]
    lines.append('| ' + ' | '.join(row) + ' |')
  lines.append('| paper, z=100 | ' + ' | '.join(f'{PAPER[d]:.2f}' for d in datasets) + ' |')
  return '\n'.join(lines)


def table_d(cells, datasets):
  lines = ['| d (z=100) | ' + ' | '.join(f'{TITLES[d]}: ours (release)' for d in datasets) + ' |',
           '|---|' + '---|' * len(datasets)]
  for dd in sweep.D_GRID:
    lines.append(f'| {dd} | ' + ' | '.join(_ours(cells[(d, 100, dd)]) for d in datasets) + ' |')
  return '\n'.join(lines)


def best_z(cells, dataset):
  """(z, test ELBO) of the finished z run with the best validation ELBO, or None: z is chosen
  on validation, as any hyperparameter is, and test is read for that run only."""
  done = [(cells[(dataset, z, 300)]['run'], z) for z in sweep.Z_GRID
          if cells[(dataset, z, 300)]['run']]
  if not done:
    return None
  run, z = max(done, key=lambda pair: pair[0]['valid']['elbo_per_step'])
  return z, run['test']['elbo_per_step']


def shape_over_z(points):
  """Words for how test ELBO moves over z: `points` is [(z, ELBO)] in increasing z."""
  if len(points) < 3:
    return f'{len(points)} z finished'
  values = [v for _, v in points]
  best = int(np.argmax(values))
  steps = np.sign(np.diff(values))
  if best == len(values) - 1:
    shape = 'rises with z' if (steps > 0).all() else f'best at the largest z ({points[-1][0]})'
  elif best == 0:
    shape = 'falls with z' if (steps < 0).all() else f'best at the smallest z ({points[0][0]})'
  else:
    # A peak: rising up to it and falling after it, or not cleanly so.
    clean = (steps[:best] > 0).all() and (steps[best:] < 0).all()
    shape = f'peaks at z={points[best][0]}' + ('' if clean else ', not monotone either side')
  return f'{shape} (z={points[0][0]}-{points[-1][0]})'


def figure_curves(cells, datasets, path):
  from srnn_tf import plots   # noqa: F401  (Agg backend)
  import matplotlib.pyplot as plt
  fig, axes = plt.subplots(2, len(datasets), figsize=(4.2 * len(datasets), 7.5), squeeze=False)
  for col, dataset in enumerate(datasets):
    for row, (grid, key) in enumerate(((sweep.Z_GRID, 'z'), (sweep.D_GRID, 'd'))):
      ax = axes[row, col]
      for i, value in enumerate(grid):
        cell = cells[(dataset, value, 300) if key == 'z' else (dataset, 100, value)]
        h = cell['history']
        if h is None or 'val_elbo' not in h.dtype.names:
          continue
        ax.plot(h['epoch'] + 1, h['val_elbo'], color=plt.cm.viridis(i / max(len(grid) - 1, 1)),
                label=f'{key}={value}')
      ax.set(title=f'{TITLES[dataset]}: varying {key}', xlabel='epoch',
             ylabel='validation ELBO per step')
      if ax.lines:
        # From a quarter of the way in: the first epochs' climb would flatten the differences
        # between z values (tenths of a nat) that the figure is for.
        start = max(line.get_xdata()[-1] for line in ax.lines) / 4
        low = min(np.min(line.get_ydata()[line.get_xdata() >= start], initial=np.inf)
                  for line in ax.lines)
        high = max(np.max(line.get_ydata()) for line in ax.lines)
        ax.set_ylim(low, high + 0.05 * (high - low))
        ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def figure_cross_entropy(cells, datasets, path):
  from srnn_tf import plots   # noqa: F401
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(7, 4.5))
  for i, dataset in enumerate(datasets):
    zs = [z for z in sweep.Z_GRID if cells[(dataset, z, 300)]['run']]
    ce = [cells[(dataset, z, 300)]['run']['test']['recon_per_step'] for z in zs]
    if zs:
      ax.plot(zs, ce, 'o-', color=f'C{i}', label=TITLES[dataset])
  ax.set(xscale='log', xlabel='z dimension', ylabel='test cross-entropy (nats per frame)',
         title='Reconstruction term -E_q[log p(x_t | z_t, d_t)], test set, d=300')
  ax.set_xticks(sweep.Z_GRID, [str(z) for z in sweep.Z_GRID])
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def reconstruction(cells, dataset, figures_dir):
  """Runs reconstruct.py on test piece 3 with the z chosen on validation; returns the PNG
  path."""
  best = best_z(cells, dataset)
  if best is None:
    return None
  run_dir = os.path.join(flags.FLAGS.runs_dir, cells[(dataset, best[0], 300)]['name'])
  out = os.path.join(figures_dir, f'reconstruction_{dataset}')
  existing = glob.glob(os.path.join(out, '*.png'))
  if os.path.isdir(run_dir) and _RECONSTRUCT.value:
    done = subprocess.run([sys.executable, 'reconstruct.py', f'--run={run_dir}', '--index=3',
                           f'--output_dir={out}'], capture_output=True, text=True)
    if done.returncode:
      print(f'reconstruction of {run_dir} failed: {done.stderr.strip().splitlines()[-1]}',
            file=sys.stderr)
    existing = glob.glob(os.path.join(out, '*.png'))
  return existing[0] if existing else None


def main(argv):
  del argv
  datasets = flags.FLAGS.datasets   # the sweep's flags: --datasets, --data_version, --jobs
  version = flags.FLAGS.data_version
  if _SWEEP.value:
    code = subprocess.call([sys.executable, '-m', 'experiments.sweep', '--grid=z,d',
                            f'--datasets={",".join(datasets)}', f'--data_version={version}',
                            f'--jobs={flags.FLAGS.jobs}'])
    if code:
      print('the sweep had failures; building the report from what finished', file=sys.stderr)
  cells = collect(datasets, version)
  os.makedirs(_FIGURES.value, exist_ok=True)
  curves = os.path.join(_FIGURES.value, 'elbo_curves.png')
  cross_entropy = os.path.join(_FIGURES.value, 'cross_entropy.png')
  figure_curves(cells, datasets, curves)
  figure_cross_entropy(cells, datasets, cross_entropy)
  rel = lambda p: os.path.relpath(p, os.path.dirname(_OUT.value))
  finished = sum(c['run'] is not None for c in cells.values())
  incomplete = ('Cells in italics are not final: their runs are still training or not started '
                '(`python -m experiments.sweep --grid=z,d` resumes them).')
  lines = [
      '# Reproducing the report: z and d sweeps', '',
      f'Built by `python -m experiments.make_report` from {finished} of {len(cells)} runs '
      f'({version} data, paper protocol: 50 epochs, batch 16, 100-frame windows). Test ELBO '
      'per time step in the paper\'s convention (per-sequence mean over time, then mean over '
      'sequences); "release": from the srnn2016 release\'s own first input frames (the first '
      'target frame itself in some pieces, all of JSB\'s), as the report\'s and the paper\'s '
      'numbers were measured ("-": not measured so; runs evaluated before that evaluation '
      'existed have only u_1 = x_1, which is the same thing on JSB alone; "*": measured on the '
      'run trained again, same config and seed, as its weights were not kept). '
      + (incomplete + ' ' if finished < len(cells) else '')
      + 'Every number comes from `results/runs/<run>.json`.', '',
      '## (a) Test ELBO per step over z (d = 300)', '', table_z(cells, datasets), '',
      '### Over d (z = 100)', '', table_d(cells, datasets), '',
      '### Best z per corpus', '',
      ('Over the z values finished so far (a best among few is provisional). '
       if finished < len(cells) else '') + 'Our z is chosen on '
      'the validation set; the report\'s best is its best test number (its validation numbers '
      'are not published). The difference '
      'compares like for like where it can: our number from the release\'s first frames '
      'minus the report\'s (marked "plain" where only `u_1 = 0` was measured).', '',
      '| corpus | z values final | ours: z chosen on validation, test ELBO (release) '
      '| report: best z, ELBO '
      '| difference | shape over z: ours / report |', '|---|---|---|---|---|---|']
  for d in datasets:
    best = best_z(cells, d)
    report_best = max((REPORT[z][d], z) for z in REPORT)
    ours, diff = '-', '-'
    if best:
      run = cells[(d, best[0], 300)]['run']
      release = release_first_frame(run)
      ours = f'z={best[0]}: {best[1]:.3f} ({_release(run)})'
      diff = (f'{release - report_best[0]:+.3f}' if release is not None
              else f'{best[1] - report_best[0]:+.3f} (plain)')
    final = sum(cells[(d, z, 300)]['run'] is not None for z in sweep.Z_GRID)
    ours_points = [(z, cells[(d, z, 300)]['run']['test']['elbo_per_step'])
                   for z in sweep.Z_GRID if cells[(d, z, 300)]['run']]
    report_points = [(z, REPORT[z][d]) for z in sorted(REPORT)]
    lines.append(f'| {TITLES[d]} | {final} of {len(sweep.Z_GRID)} | {ours} '
                 f'| z={report_best[1]}: {report_best[0]:.3f} | {diff} '
                 f'| {shape_over_z(ours_points)} / {shape_over_z(report_points)} |')
  lines += ['', '## (b) Validation ELBO per epoch, varying z (top) and d (bottom)', '',
            f'![ELBO curves]({rel(curves)})', '',
            '## (c) Reconstructions (the z chosen on validation)', '']
  for d in datasets:
    png = reconstruction(cells, d, _FIGURES.value)
    lines += [f'![{TITLES[d]} reconstruction]({rel(png)})', ''] if png else \
        [f'{TITLES[d]}: no finished run yet.', '']
  lines += ['## (d) Test cross-entropy per corpus and z', '',
            f'![cross-entropy]({rel(cross_entropy)})', '']
  with open(_OUT.value, 'w') as f:
    f.write('\n'.join(lines))
  print(f'wrote {_OUT.value} ({finished}/{len(cells)} runs final) and figures in '
        f'{_FIGURES.value}')
  return 0


if __name__ == '__main__':
  app.run(main)
