"""Collects run JSONs (results/runs/*.json) into results/TABLE.md: models x corpora x data
versions, test log-likelihood (bounds) per step, each data version in the convention of the
numbers published on it, with those numbers beside them (see `CONVENTIONS`).

    python -m experiments.make_table [--runs=results/runs] [--output=results/TABLE.md]
"""

import csv
import dataclasses
import glob
import json
import os
import re
import statistics

from absl import app
from absl import flags

from experiments import published as published_lib
from experiments import selection
from experiments.published import (CONVENTION_TEXT, CONVENTIONS, PAPER_SRNN, REPORT_Z100,
                                    RNN_NADE, load_run, reads_no_inputs,
                                    release_first_frame, score)
from srnn_tf import configs

_RUNS = flags.DEFINE_string('runs', 'results/runs', 'Folder of run JSONs.')
_OUTPUT = flags.DEFINE_string('output', 'results/TABLE.md', 'Markdown file to write.')

CORPORA = ('jsb', 'nottingham', 'muse', 'piano')
TITLES = {'jsb': 'JSB', 'nottingham': 'Nottingham', 'muse': 'MuseData', 'piano': 'Piano'}
def _with_release(run, version):
  """'score' or, on srnn2016, 'score / release-first-frame score' ('-' where not measured,
  '=' where it cannot differ: a model that reads no input frame)."""
  text = f'{score(run["test"], version):.3f}'
  if version != 'srnn2016':
    return text
  if reads_no_inputs(run):
    return text + ' / ='
  release = release_first_frame(run)
  if release is None:
    return text + ' / -'
  retrained = run.get('test_release_first_frame_retrained_plain')
  return text + f' / {release:.3f}' + (
      f' (retrained: {retrained["elbo_per_step"]:.3f} plain)' if retrained else '')


# What the NADE models are set against on each data version: (numbers, whose).
NADE_REFERENCE = {'boulanger': (RNN_NADE, 'RNN-NADE'), 'srnn2016': (PAPER_SRNN, 'SRNN paper')}


# The comparison's rows, always listed (a missing cell says why).
VARIANTS = ('RNN', 'VRNN', 'SRNN smooth + Resq', 'SRNN filter + Resq', 'SRNN smooth, no Resq')
QUEUED = 'not run'   # a cell without a result (TABLE.md's legend says where it comes from)
NOT_ASKED = 'n/a'    # a cell outside the protocol (the legend says which)
FIVO_CORPORA = ('jsb', 'nottingham')


# An ELBO run on shuffled independent windows, as FIVO trains: the like-for-like control of a
# FIVO run (the protocol's ELBO runs carry their state across consecutive windows).
INDEPENDENT = 'ELBO, independent windows'


def _asked(variant, dataset, bound=None):
  """Whether the protocol has this cell: FIVO training (Maddison et al. 2017's claim) is
  tested on JSB and Nottingham, each run (and its ELBO control on the same independent
  windows) measured by SMC against the ELBO-trained runs."""
  fivo = 'FIVO' in variant or INDEPENDENT in variant
  return not fivo or (dataset in FIVO_CORPORA and bound in (None, 'smc'))


def _missing(variant, dataset, bound=None):
  return QUEUED if _asked(variant, dataset, bound) else NOT_ASKED


def _variant(config):
  model = config['model']
  objective = config.get('objective', 'elbo')
  notes = [] if objective == 'elbo' else [f'{objective.upper()}, K={config["num_particles"]}']
  if objective == 'elbo' and not config.get('carry_state', True):
    notes.append(INDEPENDENT)
  if config.get('keep_best'):   # the weights of the best validation epoch, not the last
    notes.append('best epoch')
  suffix = f' ({"; ".join(notes)})' if notes else ''
  nade = '-NADE' if config.get('emission', 'bernoulli') == 'nade' else ''
  if model != 'srnn':
    return model.upper() + nade + suffix
  label = f'SRNN{nade} ' + ('smooth' if config['inference'] == 'smoothing' else 'filter')
  return label + (' + Resq' if config['resq'] else ', no Resq') + suffix


def _paper_protocol(config):
  return (config.get('epochs'), config.get('batch_size'), config.get('seq_len')) == (50, 16, 100)


def _sweep_name(config):
  """The run name `train.py` and the sweep give this config (`configs.run_name`)."""
  return configs.run_name(configs.from_dict(config))


def load_runs(folder):
  """The run JSONs of `folder` named as the sweep names them: probes and diagnostics with
  their own `--output_dir` names (bfloat16, batch 64, RL-tuned) stay out of the table, and
  so do replicates at other seeds (`seed_spread`)."""
  runs = []
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    run = load_run(path)
    if 'config' in run and 'test' in run and not selection.is_replicate(run['config']) and \
        os.path.basename(path)[:-len('.json')] == _sweep_name(run['config']):
      run['_file'] = os.path.relpath(path)
      runs.append(run)
  return runs


def table(runs, version, z_dim=100, d_dim=300):
  """Markdown rows: one per model variant, a cell per corpus."""
  cells = {}
  for run in runs:
    c = run['config']
    if (c['data_version'], c.get('z_dim'), c['d_dim']) != (version, z_dim, d_dim) \
        and not (c['model'] == 'rnn' and (c['data_version'], c['d_dim']) == (version, d_dim)):
      continue
    if not _paper_protocol(c) or c['dataset'] not in CORPORA:
      continue
    cells[(_variant(c), c['dataset'])] = (_with_release(run, version), run['_file'])
  variants = list(VARIANTS) + sorted({v for v, _ in cells} - set(VARIANTS))
  lines = ['| model | ' + ' | '.join(TITLES[c] for c in CORPORA) + ' |',
           '|---|' + '---|' * len(CORPORA)]
  for v in variants:
    row = [cells.get((v, c), (_missing(v, c), None))[0] for c in CORPORA]
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


def _history(run_json):
  """The rows of the history CSV committed beside a run JSON, one per epoch trained."""
  with open(run_json[:-len('.json')] + '.history.csv') as f:
    return list(csv.DictReader(f))


def _epochs_run(run_json):
  """Epochs a run trained."""
  return len(_history(run_json))


def _train_minutes(run_json, run):
  """Training time in minutes, validation excluded: the epochs trained (every session's) x
  each epoch's time steps (batches x batch size x window) over the run's median measured
  `steps_per_sec`. The median, not each epoch's own rate: an epoch during which the process
  was paused (`kill -STOP`, to benchmark) would otherwise count its pause."""
  c = run['config']
  frames_per_epoch = run['steps_per_epoch'] * c['batch_size'] * c['seq_len']
  rates = [float(row['steps_per_sec']) for row in _history(run_json)]
  return len(rates) * frames_per_epoch / statistics.median(rates) / 60


def long_schedule_runs(folder):
  """Run JSONs trained with `--keep_best` (longer schedules than the paper's; not in the
  tables above), as markdown rows beside the paper-protocol run of the same model."""
  by_name = {os.path.basename(r['_file'])[:-len('.json')]: r for r in load_runs(folder)}
  lines = ['| run | data | epochs run (kept) | epochs at constant lr | early stopping | test ELBO '
           '| paper protocol |', '|---|---|---|---|---|---|---|']
  sources = []
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    run = load_run(path)
    c = run.get('config', {})
    if (not c.get('keep_best') or 'test' not in run or selection.is_nade_search(c)
        or selection.is_replicate(c)   # in `seed_spread`
        or _paper_protocol(c)):   # the protocol's best-epoch runs are in the tables above
      continue
    epochs_run = _epochs_run(path)
    protocol = by_name.get(_sweep_name({**c, 'epochs': 50, 'lr_constant_epochs': 20,
                                        'keep_best': False, 'early_stopping_patience': 0}))
    constant = c['lr_constant_epochs']
    lines.append(f'| `{os.path.basename(path)[:-len(".json")]}` | {TITLES[c["dataset"]]}, '
                 f'{c["data_version"]} | {epochs_run} ({run["kept_epoch"]}) '
                 f'| {"all" if constant >= c["epochs"] else constant} '
                 f'| {c.get("early_stopping_patience") or "-"} '
                 f'| {_with_release(run, c["data_version"])} '
                 f'| {_with_release(protocol, c["data_version"]) if protocol else "-"} |')
    sources.append(os.path.relpath(path))
  return '\n'.join(lines), sources


def nade_search(folder, version='boulanger'):
  """The NADE models of `version`: every candidate's validation number, the one chosen per
  corpus and model (`selection.best`), and the test number of that one only, beside the
  number published on that data: RNN-NADE's on the Boulanger splits, the SRNN paper's on
  srnn2016 (each in its own convention, as `score` gives ours)."""
  groups = selection.nade_candidates(folder, version)
  published, published_name = NADE_REFERENCE[version]
  lines = ['| corpus | model | GRU d (SRNN: a) | MLPs e(u) / emission | dropout d / e(u) '
           '| NADE pre-trained | params | epochs run (kept) | train min | valid | test '
           f'| test SMC | {published_name} published |', '|---' * 13 + '|']
  sources, answers = [], []
  for corpus in CORPORA:
    reference = f'{published[corpus]:.2f}' if corpus in published else ''
    tightest = {}
    for model in selection.MODELS:
      candidates = groups.get((corpus, model), [])
      if not candidates:
        lines.append(f'| {TITLES[corpus]} | {model.upper()}-NADE | | | | | | | | {QUEUED} | '
                     f'| | {reference} |')
        continue
      best = selection.best(candidates, version)[1]
      for path, run in candidates:
        c = run['config']
        epochs_run = _epochs_run(path)
        valid = f'{score(run["valid"], version):.3f}'
        test = '' if run is not best else (
            f'{score(run["test"], version):.3f}' if 'test' in run else QUEUED)
        smc = ''
        if run is best:
          smc, tightest[model] = _tightest(path, run, version)
        lines.append(
            f'| {TITLES[corpus]} | {model.upper()}-NADE | {c["d_dim"]}'
            f'{" (%d)" % c.get("a_dim", 300) if model == "srnn" else ""} '
            f'| {"x".join(map(str, c["embed_units"]))} / {c["hidden_units"]} '
            f'| {c.get("dropout_d", 0):g} / {c.get("dropout_emb_u", 0):g} '
            f'| {f"{pretrain:,} steps" if (pretrain := c.get("nade_pretrain_steps")) else "no"} '
            f'| {run["parameters"]:,} | {epochs_run} ({run["kept_epoch"]}) '
            f'| {_train_minutes(path, run):.0f} | {f"**{valid}**" if run is best else valid} '
            f'| {test} | {smc} | {reference} |')
        sources.append(os.path.relpath(path))
    if len(tightest) == 3 and None not in tightest.values():
      others = max(tightest['rnn'], tightest['vrnn'])
      versus = tightest['srnn'] - published[corpus]
      answers.append(
          f'- {TITLES[corpus]}: SRNN-NADE {tightest["srnn"]:.3f} (SMC), VRNN-NADE '
          f'{tightest["vrnn"]:.3f} (SMC), RNN-NADE {tightest["rnn"]:.3f} (exact): the SRNN\'s '
          f'chain {"ahead of" if tightest["srnn"] > others else "behind"} the better of the '
          f'other two by {abs(tightest["srnn"] - others):.3f} nats per frame; SRNN-NADE '
          f'{"above" if versus > 0 else "below"} the published {published_name} '
          f'({published[corpus]:.2f}) by {abs(versus):.3f}.')
  if answers:
    lines += ['', 'With every model given the NADE emission, does the SRNN\'s stochastic chain '
              'still help? Each model\'s validation-chosen run, its tightest estimate of the '
              'test log-likelihood (a lower bound for the latent models):', '', *answers]
  return '\n'.join(lines), sources


FAMILY_ROWS = (('dmm', 'bernoulli', 'DMM-Aug.'), ('dmm', 'nade', 'DMM-Aug.-NADE'),
               ('storn', 'bernoulli', 'STORN'), ('storn', 'nade', 'STORN-NADE'))


def _bound_cell(path, bound):
  """A run's test `bound` (iwae, smc): total / total, per sequence in brackets; or QUEUED."""
  found = path[:-len('.json')] + f'.eval_{bound}_test.json'
  if not os.path.exists(found):
    return QUEUED
  with open(found) as f:
    r = json.load(f)['test']
  return f'{r["log_p_total_per_step"]:.3f} ({r["log_p_per_step"]:.3f})'


def family_table(folder):
  """The DMM-Aug. and STORN on the Boulanger splits, each emission's candidates chosen on
  validation as the NADE comparison's are, then trained again to `sweep.FAMILY_EPOCHS`: the
  chosen candidate's validation number at the searches' cap, and the final run's epochs,
  validation, test ELBO, IWAE and SMC (K = 100) in both conventions, beside Krishnan et al.'s
  importance-sampling estimate and bounds (and the STORN number they quote)."""
  groups = selection.search_candidates(folder, 'boulanger')
  finals = selection.family_long(folder, 'boulanger')
  lines = ['| corpus | model | candidates | chosen: valid at 200 | params | epochs run (kept) '
           '| train min | valid | test ELBO | IWAE K=100 | SMC K=100 '
           '| published: estimate / bound (per sequence) |',
           '|---' * 12 + '|']
  sources = []
  for corpus in CORPORA:
    for model, emission, label in FAMILY_ROWS:
      published = published_lib.KRISHNAN.get(label)
      if published:
        reference = (f'{published["estimate"][corpus]:.3f} / {published["bound"][corpus]:.3f} '
                     f'({published["bound_per_sequence"][corpus]:.3f})')
      elif label == 'STORN':
        reference = f'{published_lib.STORN_QUOTED[corpus]:.2f} (quoted)'
      else:
        reference = ''
      candidates = groups.get((corpus, model, emission), [])
      if not candidates:
        lines.append(f'| {TITLES[corpus]} | {label} | 0 | {QUEUED} |' + ' |' * 7
                     + f' {reference} |')
        continue
      sources += [os.path.relpath(p) for p, _ in candidates]
      chosen_path, chosen = selection.best(candidates, 'boulanger')
      head = (f'| {TITLES[corpus]} | {label} | {len(candidates)} '
              f'| {score(chosen["valid"], "boulanger"):.3f} '
              f'({os.path.basename(chosen_path)[:-len(".json")]})')
      final = finals.get((corpus, model, emission))
      if final is None or not final[0].startswith(chosen_path[:-len('.json')] + '_ep'):
        lines.append(f'{head} |' + f' {QUEUED} |' + ' |' * 6 + f' {reference} |')
        continue
      path, run = final
      sources.append(os.path.relpath(path))
      test = run.get('test')
      elbo = (f'{test["elbo_total_per_step"]:.3f} ({test["elbo_per_step"]:.3f})' if test
              else QUEUED)
      iwae, smc = (_bound_cell(path, bound) for bound in ('iwae', 'smc'))
      lines.append(
          f'{head} | {run["parameters"]:,} | {_epochs_run(path)} ({run["kept_epoch"]}) '
          f'| {_train_minutes(path, run):.0f} | {score(run["valid"], "boulanger"):.3f} '
          f'| {elbo} | {iwae} | {smc} | {reference} |')
  return '\n'.join(lines), sources


def _dropout_evidence(folder):
  """Why the srnn2016 NADE search trains its dropout candidates alone: how the dropout
  candidates fared against their twins without dropout on the Boulanger splits."""
  margins = selection.dropout_margins(folder, 'boulanger')
  if not margins:
    return 'no pair of Boulanger candidates with and without dropout has finished yet.'
  won = sum(m > 0 for m in margins)
  return (f'on the Boulanger splits validation chose dropout in {won} of {len(margins)} pairs '
          f'(by {min(margins):+.2f} to {max(margins):+.2f} nats per frame, Boulanger\'s '
          'convention).')


def _tightest(path, run, version):
  """(cell text, number) of a run's tightest test estimate: the RNN's exact log-likelihood,
  a latent model's SMC estimate (K particles), or None where it has not been measured."""
  if run['config']['model'] == 'rnn':
    if 'test' not in run:
      return QUEUED, None
    return '= (exact)', score(run['test'], version)
  smc = path[:-len('.json')] + '.eval_smc_test.json'
  if not os.path.exists(smc):
    return QUEUED, None
  with open(smc) as f:
    r = json.load(f)['test']
  return f'{score(r, version):.3f} (K={r["num_particles"]})', score(r, version)


def _spread_cell(path, run, version):
  """`_tightest` with the RNN's exact number written out."""
  text, value = _tightest(path, run, version)
  return (f'{value:.3f} (exact)' if value is not None and run['config']['model'] == 'rnn'
          else text), value


def seed_spread(folder, version):
  """The chosen NADE runs of `version` beside their replicates at other seeds (`sweep
  --grid=nade_chosen --seeds=...`): each one's tightest test estimate, the replicates' mean
  and standard deviation, and per corpus the SRNN-NADE's mean against the better of the
  other two models' means, with the standard error of that difference. Empty where no
  replicate has a test number."""
  groups = selection.nade_candidates(folder, version)
  rows, answers, sources, seeds = {}, [], [], set()
  for corpus in CORPORA:
    for model in selection.MODELS:
      if (corpus, model) not in groups:
        continue
      path, run = selection.best(groups[corpus, model], version)
      chosen = _spread_cell(path, run, version)
      replicates = {}
      for replicate in sorted(glob.glob(path[:-len('.json')] + '_seed*.json')):
        match = re.fullmatch(r'.*_seed(\d+)\.json', replicate)
        if match and 'test' in (rerun := load_run(replicate)):
          replicates[int(match[1])] = _spread_cell(replicate, rerun, version)
          sources.append(os.path.relpath(replicate))
      if replicates:
        rows[corpus, model] = chosen, replicates
        seeds |= set(replicates)
  if not rows:
    return '', []
  seeds = sorted(seeds)
  lines = ['| corpus | model | seed 0 (chosen) | ' + ' | '.join(f'seed {k}' for k in seeds)
           + ' | replicates: mean ± sd |', '|---|---|---|' + '---|' * len(seeds) + '---|']
  means = {}
  for (corpus, model), (chosen, replicates) in rows.items():
    values = [v for _, v in replicates.values() if v is not None]
    summary = ''
    if len(values) >= 2:
      means[corpus, model] = (statistics.mean(values), statistics.stdev(values), len(values))
      summary = f'{means[corpus, model][0]:.3f} ± {means[corpus, model][1]:.3f} (n={len(values)})'
    lines.append(f'| {TITLES[corpus]} | {model.upper()}-NADE | {chosen[0]} | '
                 + ' | '.join(replicates.get(k, ('', None))[0] for k in seeds)
                 + f' | {summary} |')
  for corpus in CORPORA:
    if not all((corpus, m) in means for m in selection.MODELS):
      continue
    srnn = means[corpus, 'srnn']
    other = max(('rnn', 'vrnn'), key=lambda m: means[corpus, m][0])
    best = means[corpus, other]
    error = (srnn[1] ** 2 / srnn[2] + best[1] ** 2 / best[2]) ** 0.5
    gap = srnn[0] - best[0]
    answers.append(f'- {TITLES[corpus]}: over the replicates, the SRNN-NADE '
                   f'{"ahead of" if gap > 0 else "behind"} the {other.upper()}-NADE (the '
                   f'better of the other two) by {abs(gap):.3f} nats per frame, ± {error:.3f} '
                   '(one standard error of the difference of the means).')
  return '\n'.join(lines + ([''] + answers if answers else [])), sources


# Options of the release that the paper protocol leaves at their defaults.
RELEASE_OPTIONS = ('gru_init', 'dropout_d', 'dropout_z', 'dropout_emb_u', 'dropout_emb_x',
                   'learning_rate', 'lr_constant_epochs', 'lr_decay')


def option_runs(folder):
  """Markdown rows of the 50-epoch runs that change the release's options (`RELEASE_OPTIONS`)
  from the paper protocol, each beside the protocol run it departs from: validation ELBO
  (what chooses between them), then test."""
  default = configs.get_config('paper', **configs.PREVIOUS_DEFAULTS)
  by_name = {os.path.basename(r['_file'])[:-len('.json')]: r for r in load_runs(folder)}
  lines = ['| run | changed | valid ELBO | protocol valid | test ELBO | protocol test |',
           '|---|---|---|---|---|---|']
  sources = []
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    run = load_run(path)
    c = run.get('config', {})
    if 'test' not in run or c.get('keep_best') or not _paper_protocol(c):
      continue
    c = dataclasses.asdict(configs.from_dict(c))
    changed = {k: c[k] for k in RELEASE_OPTIONS if c[k] != getattr(default, k)}
    if not changed:
      continue
    protocol = by_name.get(_sweep_name({**c, **{k: getattr(default, k) for k in changed}}))
    version = c['data_version']
    valid = lambda r: f'{score(r["valid"], version):.3f}'
    lines.append(
        f'| `{os.path.basename(path)[:-len(".json")]}` | '
        + ', '.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}'
                    for k, v in changed.items())
        + f' | {valid(run)} | {valid(protocol) if protocol else "-"} '
        f'| {_with_release(run, version)} '
        f'| {_with_release(protocol, version) if protocol else "-"} |')
    sources.append(os.path.relpath(path))
  return '\n'.join(lines), sources


def _in_comparison(c, version):
  """Whether a run's config is one of the comparison's (paper protocol, z=100, d=300)."""
  return (c['data_version'] == version and _paper_protocol(c) and c['d_dim'] == 300
          and (c.get('z_dim', 100) == 100 or c['model'] == 'rnn') and c['dataset'] in CORPORA)


def comparison_runs(runs, version):
  """{(dataset, variant): (elbo, {bound: (log p per step, K, path)})} of the finished
  paper-protocol comparison runs (z=100, d=300) of one data version, with their test
  IWAE/SMC evaluations where they exist. The RNN's ELBO is its exact log-likelihood."""
  found = {}
  for run in runs:
    c = run['config']
    if not _in_comparison(c, version):
      continue
    estimates = {}
    stem = run['_file'][:-len('.json')]
    for bound in ('iwae', 'smc') if c['model'] != 'rnn' else ():
      path = f'{stem}.eval_{bound}_test.json'
      if os.path.exists(path):
        with open(path) as f:
          r = json.load(f)['test']
        estimates[bound] = (score(r, version), r['num_particles'], path)
    found[(c['dataset'], _variant(c))] = (score(run['test'], version), estimates)
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
    if variant.startswith('RNN'):   # no latent variables: the "ELBO" is log p(x) itself
      lines.append(f'| {TITLES[dataset]} | {variant} | {elbo:.3f} (exact) | = | = | 0 | 0 |')
      continue
    sources += [path for *_, path in est.values()]
    cell = lambda b: (f'{est[b][0]:.3f} (K={est[b][1]})' if b in est
                      else _missing(variant, dataset, b))
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


def published_table(runs):
  """Markdown: per corpus, ours against the published number of each data version, each in
  that number's convention (`CONVENTIONS`)."""
  lines = ['| corpus | srnn2016: SRNN ELBO | paper | difference '
           '| Boulanger: chosen model, tightest | RNN-NADE | difference |',
           '|---|---|---|---|---|---|---|']
  paper_runs = {r['config']['dataset']: r for r in runs
                if r['config']['data_version'] == 'srnn2016' and _paper_protocol(r['config'])
                and _variant(r['config']) == 'SRNN smooth + Resq'
                and (r['config'].get('z_dim'), r['config']['d_dim']) == (100, 300)}
  found = comparison_runs(runs, 'boulanger')
  valid = {(r['config']['dataset'], _variant(r['config'])): score(r['valid'], 'boulanger')
           for r in runs if 'valid' in r and _in_comparison(r['config'], 'boulanger')}
  for dataset in CORPORA:
    cells = []
    run = paper_runs.get(dataset)
    if run:
      release = release_first_frame(run)
      ours = release if release is not None else score(run['test'], 'srnn2016')
      how = '`u_1 = 0`' if release is None else 'release first frames' + (
          ', retrained run' if 'test_release_first_frame_retrained_plain' in run else '')
      cells += [f'{ours:.3f} ({how})', f'{PAPER_SRNN[dataset]:.2f}',
                f'{ours - PAPER_SRNN[dataset]:+.2f}']
    else:
      cells += [QUEUED, f'{PAPER_SRNN[dataset]:.2f}', '']
    best = None
    if candidates := [key for key in found if key[0] == dataset and key in valid]:
      chosen = max(candidates, key=valid.get)   # on validation, never on the test numbers
      elbo, est = found[chosen]
      value, how = elbo, 'exact' if chosen[1].startswith('RNN') else 'ELBO'
      for bound in ('iwae', 'smc'):     # the tightest: SMC over IWAE over the ELBO
        if bound in est:
          value, how = est[bound][0], f'{bound.upper()} K={est[bound][1]}'
      best = (value, f'{chosen[1]}, {how}')
    if best:
      cells += [f'{best[0]:.3f} ({best[1]})', f'{RNN_NADE[dataset]:.2f}',
                f'{best[0] - RNN_NADE[dataset]:+.2f}']
    else:
      cells += [QUEUED, f'{RNN_NADE[dataset]:.2f}', '']
    lines.append(f'| {TITLES[dataset]} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def _listed(label, sources) -> str:
  """The line under a table that names the committed files its numbers come from."""
  return f'{label}: ' + (', '.join(f'`{s}`' for s in sources) or 'none yet')


def main(argv):
  del argv
  runs = load_runs(_RUNS.value)
  out = ['# Test log-likelihood per time step', '',
         'Paper protocol (50 epochs, batch 16, 100-frame windows with carried state, d=300, '
         'z=100). Higher is better. Generated by `python -m experiments.make_table` from the run '
         'JSONs listed under each table.', '',
         '**Conventions.** Every number on the srnn2016 data is in ' + CONVENTION_TEXT[
             'per_sequence'] + '; every number on the Boulanger splits is in ' +
         CONVENTION_TEXT['per_step'] + '. Each is the convention of the numbers published on '
         'that data (the SRNN paper; Boulanger-Lewandowski et al. 2012, RNN-NADE), so every '
         'comparison below with a published number is like for like.', '',
         f'"{QUEUED}": no result for this cell; `snakemake -n` lists the runs and evaluations '
         f'that give one. "{NOT_ASKED}": outside the protocol (FIVO training is tested on '
         'JSB and Nottingham, measured by SMC, against the protocol\'s ELBO runs and against '
         f'ELBO runs on the same shuffled independent windows FIVO trains on, "{INDEPENDENT}").',
         '']
  for version, title in (('srnn2016', 'SRNN 2016 release data (the paper\'s table)'),
                         ('boulanger', 'Boulanger-Lewandowski (2012) splits')):
    body, sources = table(runs, version)
    note = [
        'Test ELBO per step (one posterior sample), ' + CONVENTION_TEXT['per_sequence'] + '. '
        'Each cell: inputs from silence (`u_1 = 0`) / from the release\'s own first input '
        'frames, as its evaluation and so the paper\'s numbers had them (in some pieces, all '
        'of JSB\'s, the first target frame itself: the target leaks into the input at t = 1). '
        '"-": not measured with the release\'s first frames (a run evaluated before that '
        'evaluation existed, on a corpus where it differs from `u_1 = x_1`). "=": the same '
        'number by construction: the VRNN reads no input frame (its state before the first '
        'frame is `h_0 = 0`), so the first input frames cannot change it. "retrained": '
        'the run\'s weights were not kept, so it was trained again (same config and seed) and '
        'the new weights evaluated both ways under the same posterior noise; CPU training is '
        'not bit-reproducible, so compare the release number with that plain one.', ''
    ] if version == 'srnn2016' else [
        'Test ELBO per step (one posterior sample; the RNN\'s exact log-likelihood), ' +
        CONVENTION_TEXT['per_step'] + ', as RNN-NADE\'s numbers are.', '']
    out += [f'## {title}', '', *note, body, '', _listed('Runs', sources), '']
  body, sources = long_schedule_runs(_RUNS.value)
  out += ['## Longer schedules (not the paper protocol)', '',
          'The learning rate held (no decay), the weights of the epoch with the best validation '
          'ELBO kept (`--keep_best`), optionally stopped that many epochs after it '
          '(`--early_stopping_patience`); beside the paper-protocol run of the same model. '
          'docs/findings.md ("Why JSB falls short", "The Boulanger splits") discusses them.', '',
          body, '', _listed('Runs', sources), '']
  body, sources = nade_search(_RUNS.value)
  out += ['## NADE emissions: sizes chosen on validation (Boulanger splits)', '',
          'Every model with the NADE emission (H = 150, as RNN-NADE\'s), trained the way '
          'RNN-NADE\'s authors did in spirit: the learning rate held, the weights of the epoch '
          'with the best validation number kept, stopped 15 epochs after it (at most 200). '
          'The GRU size, the MLP sizes, the dropout (the same two options for every model) '
          'and whether the NADE starts pre-trained on the training frames (as RNN-NADE\'s '
          'did) are chosen per corpus and model by the validation number alone (bold), and '
          'for the SRNN the size of its inference GRU a (300, the paper\'s, or 150 like every '
          'other size, with dropout); only '
          'the chosen run\'s test split is read: candidates train with `--noevaluate_test`, '
          'and `experiments.evaluate_bounds` measures the chosen one\'s test ELBO (the '
          'candidates trained before that option measured theirs as training ended; those '
          'numbers are not shown). The sizes and the pre-training were '
          'searched on JSB, where every candidate without pre-training lost by 0.5 nats or '
          'more; the other corpora have the pre-trained candidates at RNN-NADE\'s size. '
          'RNN: exact log-likelihood; VRNN and SRNN: ELBO. Per step, ' +
          CONVENTION_TEXT['per_step'] + ', as the published numbers are (RNN-NADE\'s best, '
          'Hessian-free or SGD with pre-training). "train min": minutes of training '
          '(validation excluded) from the run\'s median throughput, with other trainings '
          'sharing the machine\'s 2 cores; the runs begun before the NADE\'s `log_prob` '
          'was made 7x faster (those on JSB, the first two on Piano and the first on '
          'Nottingham) are slower for it, in part or in whole '
          '(`python -m benchmarks.nade` gives the emissions\' costs side by side); some '
          'trained on TensorFlow\'s default thread pools instead of the configured ones '
          '(Nottingham\'s VRNN-NADE with dropout; MuseData\'s RNN-NADE with dropout, in '
          'part; BUILD_NOTES, "Threads").', '',
          body, '', _listed('Runs', sources), '']
  body, sources = family_table(_RUNS.value)
  out += ['## The rest of the family: the DMM-Aug. and STORN (Boulanger splits)', '',
          'Each model and emission searched with the NADE comparison\'s protocol and budget '
          '(four candidates: `experiments.sweep --grid=dmm,storn`, at most 200 epochs), the '
          'candidate with the best validation number (' + CONVENTION_TEXT['per_step'] + ') '
          'chosen and trained again with Krishnan et al.\'s cap of 2,000 epochs, the rate held '
          'and patience 15 as before (`--grid=family_long`): the DMM\'s candidates were all '
          'still improving at 200. Only that final run\'s test split is read. Our numbers are '
          'log-likelihoods per frame in that convention, the per-sequence one in brackets; '
          'Krishnan et al.\'s (Tables 3-4, NLL negated) are their importance-sampling estimate '
          'and their bound in the same all-frames convention, their bound per sequence in '
          'brackets; STORN\'s as they quote it.', '',
          body, '', _listed('Runs', sources), '']
  body, sources = nade_search(_RUNS.value, 'srnn2016')
  out += ['## NADE emissions on the srnn2016 data (the paper\'s)', '',
          'The same search on the data of the SRNN paper\'s table, beside that paper\'s SRNN '
          '(Bernoulli emission, test ELBO), with the dropout candidates only: srnn2016 holds '
          'the same four corpora, framed differently, and ' + _dropout_evidence(_RUNS.value) +
          ' Per step, ' + CONVENTION_TEXT['per_sequence'] +
          ', as the paper\'s numbers are; ours from silence (`u_1 = 0`), not from the '
          'release\'s first input frames (which hold the first target frame in some pieces).',
          '', body, '', _listed('Runs', sources), '']
  for version, title in (('boulanger', 'Boulanger splits'), ('srnn2016', 'srnn2016')):
    body, sources = seed_spread(_RUNS.value, version)
    if body:
      out += [f'## NADE emissions: the spread over seeds ({title})', '',
              'Each model\'s validation-chosen NADE run (seed 0) trained again at other seeds, '
              'the same config otherwise, and measured the same way (tightest test estimate: '
              'the RNN\'s exact log-likelihood, SMC K=100 for the latent models; '
              f'{CONVENTION_TEXT[CONVENTIONS[version]]}). The replicates were not chosen on '
              'validation, so their mean carries no winner\'s bias; seed 0 was chosen among '
              'its candidates, and some chosen runs were trained before dropout masks were '
              'drawn fresh every epoch (BUILD_NOTES, "Random streams"), the replicates after.',
              '', body, '', _listed('Runs', sources), '']
  body, sources = option_runs(_RUNS.value)
  out += ['## The release\'s other options (paper protocol otherwise)', '',
          'Runs that change what the release makes an option and the paper protocol leaves at '
          'its default: the GRU initialisation, the dropout rates, and the learning-rate '
          'schedule of the release\'s `Settings_SRNN` (`--config=release`). The validation ELBO '
          'decides between a run and its protocol run; the test ELBO is reported for both (on '
          'srnn2016: `u_1 = 0` / release first frames). srnn2016 per sequence, Boulanger per '
          'frame.', '', body, '', _listed('Runs', sources), '']
  out += ['## Tighter bounds on the test sets (per step)', '',
          'The ELBO of the runs above against importance-weighted (IWAE) and particle-filter '
          '(SMC/FIVO, resampling at ESS < K/2) estimates of log p(x) with K particles, from '
          '`python -m experiments.evaluate_bounds` (`eval.py --bound=iwae|smc '
          '--num_particles=K --splits=test` per run). The RNN has no latent variables: its '
          'number is the exact log-likelihood. srnn2016 in the SRNN paper\'s convention, '
          'Boulanger in Boulanger et al.\'s (see "Conventions").', '']
  for version, title in (('srnn2016', 'SRNN 2016 release data'),
                         ('boulanger', 'Boulanger-Lewandowski (2012) splits')):
    body, sources = bounds_table(runs, version)
    out += [f'### {title}', '', body, '',
            _listed('Evaluations', sources), '']
  out += ['## Does the SRNN beat the VRNN and the RNN?', '',
          'Test log-likelihood per step of the SRNN (smoothing + Resq) minus that of each '
          'baseline, from the runs and evaluations above: positive means the SRNN is better. '
          'ELBOs compare lower bounds; "tightest" compares each model\'s best estimate of '
          'log p(x) (SMC, else IWAE, else the ELBO; the RNN\'s is exact).', '']
  for version, title in (('srnn2016', 'SRNN 2016 release data'),
                         ('boulanger', 'Boulanger-Lewandowski (2012) splits')):
    out += [f'### {title}', '', versus_table(runs, version), '']
  out += ['## Against the published numbers', '',
          'srnn2016: our SRNN\'s test ELBO (smoothing + Resq; from the release\'s first input '
          'frames where measured, as the paper\'s was) minus the paper\'s, ' +
          CONVENTION_TEXT['per_sequence'] + '. Boulanger: the tightest estimate of log p(x) of the '
          'model with the best validation number (SMC, else IWAE, else the ELBO, all lower '
          'bounds; the RNN\'s is exact; the model is chosen on validation, never on the test '
          'set) minus RNN-NADE\'s exact log-likelihood, ' + CONVENTION_TEXT['per_step'] + '. '
          'Positive: ours is higher.', '', published_table(runs), '']
  os.makedirs(os.path.dirname(_OUTPUT.value) or '.', exist_ok=True)
  with open(_OUTPUT.value, 'w') as f:
    f.write('\n'.join(out))
  print('\n'.join(out))


if __name__ == '__main__':
  app.run(main)
