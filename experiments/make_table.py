"""Collects run JSONs (results/runs/*.json) into results/TABLE.md: models x corpora x data
versions, test ELBO per step in the paper's convention (plain and with the srnn2016 release's
leaky first frame), with the published numbers beside them.

    python -m experiments.make_table [--runs=results/runs] [--output=results/TABLE.md]
"""

import glob
import json
import os

from absl import app
from absl import flags

from srnn_tf import configs

_RUNS = flags.DEFINE_string('runs', 'results/runs', 'Folder of run JSONs.')
_OUTPUT = flags.DEFINE_string('output', 'results/TABLE.md', 'Markdown file to write.')
_RUN_DIRS = flags.DEFINE_string('run_dirs', 'runs', 'Run directories, to report runs in progress.')

CORPORA = ('jsb', 'nottingham', 'muse', 'piano')
TITLES = {'jsb': 'JSB', 'nottingham': 'Nottingham', 'muse': 'MuseData', 'piano': 'Piano'}
# Test ELBO / log-likelihood per step as published.
PAPER_SRNN = {'jsb': -4.74, 'nottingham': -2.94, 'muse': -6.28, 'piano': -8.20}   # srnn2016
REPORT_Z100 = {'jsb': -5.4700, 'nottingham': -3.0879, 'muse': -6.2445, 'piano': -8.2100}
RNN_NADE = {'jsb': -5.19, 'nottingham': -2.31, 'muse': -5.60, 'piano': -7.05}      # Boulanger


# The comparison's rows, always listed (a missing cell says why).
VARIANTS = ('RNN', 'VRNN', 'SRNN smooth + Resq', 'SRNN filter + Resq', 'SRNN smooth, no Resq')
QUEUED = 'queued'


def _variant(config):
  model = config['model']
  objective = config.get('objective', 'elbo')
  suffix = '' if objective == 'elbo' else f' ({objective.upper()}, K={config["num_particles"]})'
  if model != 'srnn':
    return model.upper() + suffix
  label = 'SRNN ' + ('smooth' if config['inference'] == 'smoothing' else 'filter')
  return label + (' + Resq' if config['resq'] else ', no Resq') + suffix


def _paper_protocol(config):
  return config['epochs'] == 50 and config['batch_size'] == 16 and config['seq_len'] == 100


def _sweep_name(config):
  """The run name `train.py` and the sweep give this config (`configs.run_name`)."""
  fields = {k: v for k, v in config.items() if k in configs.Config.__dataclass_fields__}
  fields['embed_units'] = tuple(fields.get('embed_units', ()))
  return configs.run_name(configs.Config(**fields))


def load_runs(folder):
  """The run JSONs of `folder` named as the sweep names them: probes and diagnostics with
  their own `--output_dir` names (bfloat16, batch 64, RL-tuned) stay out of the table."""
  runs = []
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    with open(path) as f:
      run = json.load(f)
    if 'config' in run and 'test' in run and \
        os.path.basename(path)[:-len('.json')] == _sweep_name(run['config']):
      run['_file'] = os.path.relpath(path)
      runs.append(run)
  return runs


def in_progress(run_dirs):
  """{(variant, dataset, version): 'running (epoch k/n)'} for unfinished paper runs."""
  status = {}
  for meta in glob.glob(os.path.join(run_dirs, '*', 'backup', 'training_metadata.json')):
    run_dir = os.path.dirname(os.path.dirname(meta))
    config_path = os.path.join(run_dir, 'config.json')
    if os.path.exists(os.path.join(run_dir, 'run.json')) or not os.path.exists(config_path):
      continue
    with open(config_path) as f:
      c = json.load(f)
    with open(meta) as f:
      epoch = json.load(f).get('epoch', 0)
    if _paper_protocol(c) and c.get('z_dim') == 100 and c['d_dim'] == 300:
      status[(_variant(c), c['dataset'], c['data_version'])] = \
          f'running (epoch {epoch}/{c["epochs"]})'
  return status


def table(runs, version, z_dim=100, d_dim=300, running=None):
  """Markdown rows: one per model variant, a cell per corpus."""
  cells = {(v, d): (text, None) for (v, d, ver), text in (running or {}).items()
           if ver == version}
  for run in runs:
    c = run['config']
    if (c['data_version'], c.get('z_dim'), c['d_dim']) != (version, z_dim, d_dim) \
        and not (c['model'] == 'rnn' and (c['data_version'], c['d_dim']) == (version, d_dim)):
      continue
    if not _paper_protocol(c) or c['dataset'] not in CORPORA:
      continue
    test, leaky = run['test']['elbo_per_step'], run['test_leaky_first_frame']['elbo_per_step']
    # The leaky first frame is the srnn2016 release's convention; Boulanger numbers are plain.
    text = f'{test:.3f} / {leaky:.3f}' if version == 'srnn2016' else f'{test:.3f}'
    cells[(_variant(c), c['dataset'])] = (text, run['_file'])
  variants = list(VARIANTS) + sorted({v for v, _ in cells} - set(VARIANTS))
  lines = ['| model | ' + ' | '.join(TITLES[c] for c in CORPORA) + ' |',
           '|---|' + '---|' * len(CORPORA)]
  for v in variants:
    row = [cells.get((v, c), (QUEUED, None))[0] for c in CORPORA]
    lines.append(f'| {v} | ' + ' | '.join(row) + ' |')
  if version == 'srnn2016':
    lines.append('| SRNN paper (smooth + Resq) | ' +
                 ' | '.join(f'{PAPER_SRNN[c]:.2f}' for c in CORPORA) + ' |')
    lines.append('| report, z = 100 | ' +
                 ' | '.join(f'{REPORT_Z100[c]:.4f}' for c in CORPORA) + ' |')
  else:
    lines.append('| RNN-NADE (Boulanger-Lewandowski et al. 2012) | ' +
                 ' | '.join(f'{RNN_NADE[c]:.2f}' for c in CORPORA) + ' |')
  sources = sorted({f for _, f in cells.values() if f})
  return '\n'.join(lines), sources


def long_schedule_runs(folder):
  """Run JSONs trained with `--keep_best` (longer schedules than the paper's; not in the
  tables above), as markdown rows beside the paper-protocol run of the same model."""
  by_name = {os.path.basename(r['_file'])[:-len('.json')]: r for r in load_runs(folder)}
  lines = ['| run | data | epochs run (kept) | epochs at constant lr | early stopping | test ELBO '
           '(leaky) | paper protocol (leaky) |', '|---|---|---|---|---|---|---|']
  sources = []
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    with open(path) as f:
      run = json.load(f)
    c = run.get('config', {})
    if not c.get('keep_best') or 'test' not in run:
      continue
    history = path[:-len('.json')] + '.history.csv'
    with open(history) as f:
      epochs_run = sum(1 for _ in f) - 1
    protocol = by_name.get(_sweep_name({**c, 'epochs': 50, 'lr_constant_epochs': 20,
                                        'keep_best': False, 'early_stopping_patience': 0}))
    score = lambda r: f'{r["test"]["elbo_per_step"]:.3f}' + (
        f' ({r["test_leaky_first_frame"]["elbo_per_step"]:.3f})'
        if c['data_version'] == 'srnn2016' else '')
    lines.append(f'| `{os.path.basename(path)[:-len(".json")]}` | {TITLES[c["dataset"]]}, '
                 f'{c["data_version"]} | {epochs_run} ({run["kept_epoch"]}) '
                 f'| {"all" if c["lr_constant_epochs"] >= c["epochs"] else c["lr_constant_epochs"]} '
                 f'| {c.get("early_stopping_patience") or "-"} '
                 f'| {score(run)} | {score(protocol) if protocol else "-"} |')
    sources.append(os.path.relpath(path))
  return '\n'.join(lines), sources


def comparison_runs(runs, version):
  """{(dataset, variant): (elbo, {bound: (log p per step, K, path)})} of the finished
  paper-protocol comparison runs (z=100, d=300) of one data version, with their test
  IWAE/SMC evaluations where they exist. The RNN's ELBO is its exact log-likelihood."""
  found = {}
  for run in runs:
    c = run['config']
    if c['data_version'] != version or not _paper_protocol(c) or c['d_dim'] != 300 \
        or c.get('z_dim', 100) != 100 and c['model'] != 'rnn' or c['dataset'] not in CORPORA:
      continue
    estimates = {}
    stem = run['_file'][:-len('.json')]
    for bound in ('iwae', 'smc') if c['model'] != 'rnn' else ():
      path = f'{stem}.eval_{bound}_test.json'
      if os.path.exists(path):
        with open(path) as f:
          r = json.load(f)['test']
        estimates[bound] = (r['log_p_per_step'], r['num_particles'], path)
    found[(c['dataset'], _variant(c))] = (run['test']['elbo_per_step'], estimates)
  return found


def _order(key):
  dataset, variant = key
  return CORPORA.index(dataset), VARIANTS.index(variant) if variant in VARIANTS else len(VARIANTS)


def bounds_table(runs, version):
  """Test log-likelihood per step of the finished comparison runs: ELBO, IWAE_K, SMC_K."""
  lines = ['| corpus | model | ELBO | IWAE | SMC | IWAE - ELBO | SMC - ELBO |',
           '|---|---|---|---|---|---|---|']
  sources = []
  found = comparison_runs(runs, version)
  for key in sorted(found, key=_order):
    (dataset, variant), (elbo, est) = key, found[key]
    if variant == 'RNN':   # no latent variables: the "ELBO" is log p(x) itself
      lines.append(f'| {TITLES[dataset]} | RNN | {elbo:.3f} (exact) | = | = | 0 | 0 |')
      continue
    sources += [path for *_, path in est.values()]
    cell = lambda b: f'{est[b][0]:.3f} (K={est[b][1]})' if b in est else QUEUED
    gap = lambda b: f'{est[b][0] - elbo:+.3f}' if b in est else ''
    lines.append(f'| {TITLES[dataset]} | {variant} | {elbo:.3f} | {cell("iwae")} '
                 f'| {cell("smc")} | {gap("iwae")} | {gap("smc")} |')
  return '\n'.join(lines), sorted(sources)


def versus_table(runs, version, srnn='SRNN smooth + Resq'):
  """Per corpus, the SRNN's margin over the VRNN and the RNN (positive: the SRNN is better),
  by the ELBO and by the tightest estimate: against the RNN, the SRNN's best (SMC, else IWAE,
  else ELBO) against the exact log-likelihood; against the VRNN, the tightest estimator both
  have at the same K (a margin between an SMC and an ELBO would mostly measure the bound)."""
  found = comparison_runs(runs, version)

  def tightest(key, other=None):
    elbo, est = found[key]
    other_est = found[other][1] if other else est
    for bound in ('smc', 'iwae'):
      if bound in est and bound in other_est and est[bound][1] == other_est[bound][1]:
        return est[bound][0], f'{bound.upper()} K={est[bound][1]}'
    return elbo, 'exact' if key[1] == 'RNN' else 'ELBO'

  lines = ['| corpus | SRNN - VRNN, ELBO | SRNN - VRNN, tightest | SRNN - RNN, ELBO '
           '| SRNN - RNN, tightest |', '|---|---|---|---|---|']
  for dataset in CORPORA:
    if (dataset, srnn) not in found:
      continue
    cells = []
    for other in ('VRNN', 'RNN'):
      if (dataset, other) not in found:
        cells += [QUEUED, QUEUED]
        continue
      cells.append(f'{found[(dataset, srnn)][0] - found[(dataset, other)][0]:+.3f}')
      if other == 'RNN':   # its exact log-likelihood, against the SRNN's tightest estimate
        (mine, how), (theirs, _) = tightest((dataset, srnn)), tightest((dataset, other))
        cells.append(f'{mine - theirs:+.3f} ({how} vs exact)')
        continue
      mine, how = tightest((dataset, srnn), (dataset, other))
      theirs, _ = tightest((dataset, other), (dataset, srnn))
      pending = how == 'ELBO' and (found[(dataset, srnn)][1] or found[(dataset, other)][1])
      cells.append(f'{QUEUED} (IWAE/SMC of both)' if pending
                   else f'{mine - theirs:+.3f} ({how}, both)')
    lines.append(f'| {TITLES[dataset]} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def main(argv):
  del argv
  runs = load_runs(_RUNS.value)
  out = ['# Test ELBO per time step', '',
         'Paper protocol (50 epochs, batch 16, 100-frame windows with carried state, d=300, '
         'z=100). Each cell: test ELBO per step in the paper\'s convention (each sequence\'s '
         'ELBO / its length, mean over sequences; one posterior sample), plain / with the '
         'srnn2016 release\'s leaky first frame (`u_1 = x_1`). Higher is better. Generated by '
         '`python -m experiments.make_table` from the run JSONs listed under each table.', '',
         f'"{QUEUED}": the run (or evaluation) is in `run_queue.sh` and not yet reached. On '
         'this 2-core machine one model\'s paper protocol over the four corpora takes about 2.5 '
         'h of training (see `python -m benchmarks.run`), so the queue fills the table over '
         'several sessions, JSB first; rerunning it resumes where it stopped.', '']
  for version, title in (('srnn2016', 'SRNN 2016 release data (the paper\'s table)'),
                         ('boulanger', 'Boulanger-Lewandowski (2012) splits')):
    body, sources = table(runs, version, running=in_progress(_RUN_DIRS.value))
    note = [] if version == 'srnn2016' else [
        'Plain test ELBO per step only: the leaky first frame is the srnn2016 release\'s '
        'convention.', '']
    out += [f'## {title}', '', *note, body, '', 'Runs: ' + (', '.join(f'`{s}`' for s in sources)
                                                     or 'none yet'), '']
  body, sources = long_schedule_runs(_RUNS.value)
  out += ['## Longer schedules (not the paper protocol)', '',
          'The learning rate held (no decay), the weights of the epoch with the best validation '
          'ELBO kept (`--keep_best`), optionally stopped that many epochs after it '
          '(`--early_stopping_patience`); beside the paper-protocol run of the same model. '
          'BUILD_NOTES ("Why JSB falls short", "The Boulanger splits") discusses them.', '',
          body, '', 'Runs: ' + (', '.join(f'`{s}`' for s in sources) or 'none yet'), '']
  out += ['## Tighter bounds on the test sets (per step, paper convention)', '',
          'The ELBO of the runs above against importance-weighted (IWAE) and particle-filter '
          '(SMC/FIVO, resampling at ESS < K/2) estimates of log p(x) with K particles, from '
          '`python -m experiments.evaluate_bounds` (`eval.py --bound=iwae|smc '
          '--num_particles=K --splits=test` per run). The RNN has no latent variables: its '
          'number is the exact log-likelihood.', '']
  for version, title in (('srnn2016', 'SRNN 2016 release data'),
                         ('boulanger', 'Boulanger-Lewandowski (2012) splits')):
    body, sources = bounds_table(runs, version)
    out += [f'### {title}', '', body, '',
            'Evaluations: ' + (', '.join(f'`{s}`' for s in sources) or 'none yet'), '']
  out += ['## Does the SRNN beat the VRNN and the RNN?', '',
          'Test log-likelihood per step of the SRNN (smoothing + Resq) minus that of each '
          'baseline, from the runs and evaluations above: positive means the SRNN is better. '
          'ELBOs compare lower bounds; "tightest" compares each model\'s best estimate of '
          'log p(x) (SMC, else IWAE, else the ELBO; the RNN\'s is exact).', '']
  for version, title in (('srnn2016', 'SRNN 2016 release data'),
                         ('boulanger', 'Boulanger-Lewandowski (2012) splits')):
    out += [f'### {title}', '', versus_table(runs, version), '']
  os.makedirs(os.path.dirname(_OUTPUT.value) or '.', exist_ok=True)
  with open(_OUTPUT.value, 'w') as f:
    f.write('\n'.join(out))
  print('\n'.join(out))


if __name__ == '__main__':
  app.run(main)
