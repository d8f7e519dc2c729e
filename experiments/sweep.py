"""Runs a grid of paper-protocol trainings, resumably: finished runs are skipped, interrupted
runs resume from their checkpoints (train.py does that when rerun with the same flags).

    python -m experiments.sweep --grid=z,d --datasets=jsb,piano --data_version=srnn2016
    python -m experiments.sweep --grid=baselines --datasets=jsb --jobs=2
    python -m experiments.sweep --grid=z --dry_run          # list the runs and their status

Grids (the report's and the paper's experiments):
  paper      SRNN (smoothing + Resq), z=100, d=300
  z          z in {2, 10, 25, 50, 100, 200} at d=300
  d          d in {50, 300, 500} at z=100
  rnn, vrnn  the baselines (d=300; VRNN z=100)
  ablations  SRNN filtering, SRNN smoothing without Resq (z=100, d=300)
  baselines  rnn + vrnn + ablations
  rnn_nade, vrnn_nade, srnn_nade, nade (all three)
             the NADE emission, best epoch kept: d in {300, 150} x dropout (d 0.5, e(u) 0.2)
             or none
  nade_small the same three at d=150 with MLPs of 150 units (one embedding layer)
  nade_pretrain  nade_small with the NADE pre-trained on the training frames (RNN-NADE's),
             and the SRNN with dropout at a = 150 too
  nade_chosen  each model's NADE-search candidate that validation chose (`selection`), from
             the run JSONs in --results_dir, its test split read: with --seeds=1,2,3, its
             replicates at other seeds, which measure the spread over seeds
  nade_augment  the chosen RNN-NADE and VRNN-NADE with --transpose_augment=2 and 6, as
             candidates (validation decides whether augmentation helps)
  dmm, storn the DMM-Aug. and STORN, Bernoulli and NADE emissions, four candidates each, with
             the NADE comparison's protocol
  family_long  each of those searches' chosen candidate trained again to 2,000 epochs (the
             final model; its test split read)

--seeds trains every run of the grids at each of these seeds (`_seed<k>` in the name of all
but seed 0): replicates are never search candidates, and TABLE.md shows their spread.

Each run is one `train.py` process writing `runs/<name>/` and copying its run JSON and history
to `--results_dir`; its output goes to `logs/<name>.log`. A run counts as finished when its
`run.json` exists, or, without its run directory (a fresh checkout), when its committed run
JSON is in `--results_dir`. One line per run reports its progress.
"""

import concurrent.futures
import dataclasses
import glob
import json
import os
import subprocess
import sys
import time

from absl import flags

from experiments import selection
from srnn_tf import cli
from srnn_tf import configs
from srnn_tf import errors
from srnn_tf import files
from srnn_tf import rundir

_GRIDS = flags.DEFINE_list('grid', ['paper'], 'Grids to run: paper, z, d, rnn, vrnn, '
                           'ablations, baselines, nade..., nade_chosen, nade_augment, dmm, storn, '
                           'family_long (the module\'s doc).')
_DATASETS = flags.DEFINE_list('datasets', list(configs.SMALLEST_FIRST),
                              'Corpora, in the order to run them.')
_DATA_VERSION = flags.DEFINE_enum('data_version', 'srnn2016', ['srnn2016', 'boulanger'],
                                  'Data version.')
_JOBS = flags.DEFINE_integer(
    'jobs', 1, 'Trainings at once. On 2 cores, 2 give 1.2x the total time steps/s of 1 '
    '(`python -m benchmarks.run`), though each run is slower.')
_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Only list the runs and their status.')
_RUNS_DIR = flags.DEFINE_string('runs_dir', 'runs', 'Where run directories go.')
_LOGS_DIR = flags.DEFINE_string('logs_dir', 'logs', 'Where each run\'s output goes.')
_RESULTS_DIR = flags.DEFINE_string('results_dir', 'results/runs',
                                   'Where train.py copies run JSONs and histories.')
_NAME_CONTAINS = flags.DEFINE_list(
    'name_contains', [], 'Only the grids\' runs whose name contains one of these strings, '
    'e.g. `--name_contains=_srnn_` (default: all).')
_RETRAIN_UNBOUNDED = flags.DEFINE_bool(
    'retrain_unbounded', False, 'Also train again (same config and seed) the latent runs '
    'finished on another machine whose IWAE and SMC were never measured: the bounds need the '
    'weights of the model whose ELBO is reported, and a run directory does not outlive its '
    'machine. Each one\'s committed JSON is replaced when it finishes.')
_SEEDS = flags.DEFINE_list('seeds', ['0'], 'Seeds to train each run at (0: the run itself; '
                           'others: replicates named `_seed<k>`).')
_EXTRA = flags.DEFINE_list('train_flags', [], 'Extra train.py flags for every run, e.g. '
                           '--train_flags=--epochs=10,--data_dir=/data.')

Z_GRID = (2, 10, 25, 50, 100, 200)
D_GRID = (50, 300, 500)
GRIDS = {
    'paper': [{}],
    'z': [{'z_dim': z} for z in Z_GRID],
    'd': [{'d_dim': d} for d in D_GRID],
    'rnn': [{'model': 'rnn'}],
    'vrnn': [{'model': 'vrnn'}],
    'ablations': [{'inference': 'filtering'}, {'resq': False}],
}
GRIDS['baselines'] = GRIDS['rnn'] + GRIDS['vrnn'] + GRIDS['ablations']
# The NADE comparison: every model with the NADE emission (150 hidden units, as RNN-NADE's),
# trained as Boulanger-Lewandowski et al. trained RNN-NADE in spirit: early stopping on the
# validation ELBO (the best epoch kept, patience 15, at most 200 epochs, the learning rate
# held). The GRU size and the dropout (the same two options for every model) are chosen on
# validation.
NADE_SEARCH = dict(emission='nade', nade_units=150, keep_best=True,
                   epochs=configs.SEARCH_EPOCHS, lr_constant_epochs=configs.SEARCH_EPOCHS,
                   early_stopping_patience=15, evaluate_test=False)
_NADE_DROPOUT = ({'dropout_d': 0.0, 'dropout_emb_u': 0.0}, {'dropout_d': 0.5, 'dropout_emb_u': 0.2})
for _model in ('rnn', 'vrnn', 'srnn'):
  GRIDS[f'{_model}_nade'] = [{**NADE_SEARCH, 'model': _model, 'd_dim': d, **dropout}
                             for d in (300, 150) for dropout in _NADE_DROPOUT]
GRIDS['nade'] = GRIDS['rnn_nade'] + GRIDS['vrnn_nade'] + GRIDS['srnn_nade']
# Smaller MLPs (150 units, one embedding layer) at d=150: nearer RNN-NADE's size (about 0.25 M
# parameters against 1.3 M at the paper's sizes), for the small corpora that over-fit.
GRIDS['nade_small'] = [
    {**NADE_SEARCH, 'model': model, 'd_dim': 150, 'hidden_units': 150, 'embed_units': (150,),
     **dropout} for model in ('rnn', 'vrnn', 'srnn') for dropout in _NADE_DROPOUT]
# RNN-NADE's pre-training: each model's NADE emission starts from an unconditional NADE fitted
# to the training frames (3,000 Adam steps of 500 frames).
GRIDS['nade_pretrain'] = [{**override, 'nade_pretrain_steps': 3000}
                          for override in GRIDS['nade_small']]
# nade_small scales every size of the paper's SRNN to RNN-NADE's 150 but its inference GRU
# (a = 300), which leaves the SRNN-NADE twice the VRNN-NADE's parameters: a third SRNN-NADE
# candidate has a = 150 too, with the dropout that won every pair of the two shared
# candidates on the Boulanger splits (14 of 14).
GRIDS['nade_pretrain'].append({**GRIDS['nade_pretrain'][-1], 'a_dim': 150})
# The rest of the family, with the NADE comparison's protocol and search budget (four
# candidates per model and emission, the Bernoulli emission and the NADE's): the DMM-Aug.
# (Krishnan et al. 2017) with its inference GRU at their 600 units or 300 and its MLPs at
# their transition's 200 units or 100; STORN (Bayer & Osendorfer 2014) at d = 300 or 150 with
# the paper's MLPs or the smaller ones of nade_small.
_FAMILY_SEARCH = {k: v for k, v in NADE_SEARCH.items() if k not in ('emission', 'nade_units')}
_EMISSIONS = ({}, {'emission': 'nade', 'nade_units': 150})
GRIDS['dmm'] = [{**_FAMILY_SEARCH, 'model': 'dmm', 'dmm_augmented': True, 'a_dim': a,
                 'hidden_units': h, **emission}
                for emission in _EMISSIONS for a in (600, 300) for h in (200, 100)]
GRIDS['storn'] = [{**_FAMILY_SEARCH, 'model': 'storn', 'd_dim': d, **sizes, **emission}
                  for emission in _EMISSIONS for d in (300, 150)
                  for sizes in ({}, {'hidden_units': 150, 'embed_units': (150,)})]


def grid_overrides(grid: str) -> list[dict]:
  """The config fields that vary over one grid (everything else: the paper preset)."""
  if grid not in GRIDS:
    raise ValueError(f'unknown grid {grid!r}; choose from {", ".join(GRIDS)}')
  return GRIDS[grid]


@dataclasses.dataclass
class Run:
  config: configs.Config
  args: list[str]

  @property
  def name(self):
    return configs.run_name(self.config)

  def status(self, runs_dir, results_dir=None):
    directory = os.path.join(runs_dir, self.name)
    finished = [os.path.join(directory, rundir.RUN_JSON)]
    if results_dir:   # committed by an earlier session whose run directory is not here
      finished.append(os.path.join(results_dir, f'{self.name}.json'))
    for path in finished:
      if os.path.exists(path):
        with open(path) as f:
          run = json.load(f)
        if 'test' not in run:   # a search's candidate: its test split waits for the choice
          return f'finished, valid ELBO/step {run["valid"]["elbo_per_step"]:.3f}'
        return f'finished, test ELBO/step {run["test"]["elbo_per_step"]:.3f}'
    return rundir.progress(directory, self.config.epochs)


  def unbounded(self, runs_dir, results_dir) -> bool:
    """A latent run committed to `results_dir` without its IWAE or SMC evaluation, whose
    weights are not in `runs_dir` (`--retrain_unbounded` trains it again)."""
    def committed(suffix):
      return os.path.exists(os.path.join(results_dir, f'{self.name}{suffix}.json'))
    return (self.config.model != 'rnn' and committed('')
            and not os.path.exists(os.path.join(runs_dir, self.name, rundir.MODEL_KERAS))
            and not (committed('.eval_iwae_test') and committed('.eval_smc_test')))


def chosen_configs(results_dir, dataset, version) -> list[configs.Config]:
  """The config of each model's validation-chosen NADE-search candidate of one corpus and
  version (models without a finished candidate left out), set to read its test split."""
  groups = selection.nade_candidates(results_dir, version)
  return [dataclasses.replace(configs.from_dict(selection.best(groups[dataset, model],
                                                               version)[1]['config']),
                              evaluate_test=True)
          for model in selection.MODELS if (dataset, model) in groups]


# Transposition augmentation (`--transpose_augment=K`) on the chosen RNN-NADE and VRNN-NADE:
# shifts of up to a tone, and of up to half an octave (every pitch class then reachable).
AUGMENT_SHIFTS = (2, 6)


def augmented_configs(results_dir, dataset, version) -> list[configs.Config]:
  """The chosen RNN-NADE's and VRNN-NADE's configs with transposition augmentation, as
  candidates (the test split unread until validation prefers one)."""
  return [dataclasses.replace(config, transpose_augment=k, evaluate_test=False)
          for config in chosen_configs(results_dir, dataset, version)
          if config.model in ('rnn', 'vrnn') for k in AUGMENT_SHIFTS]


# The DMM learns slowly (every frame's information passes through z): its candidates were all
# still improving at the searches' 200 epochs. Krishnan et al. trained for up to 2,000. So each
# family search's validation-chosen candidate is trained again with that cap (the rate held,
# patience 15 as before) and is the final model, its test split read once; a successive
# halving, chosen on validation only, that costs one long run per search rather than four.
FAMILY_EPOCHS = 2000


def family_long_configs(results_dir, dataset, version) -> list[configs.Config]:
  """Each family search's (model and emission's) chosen candidate with the cap
  `FAMILY_EPOCHS`, set to read its test split."""
  groups = selection.search_candidates(results_dir, version)
  return [dataclasses.replace(configs.from_dict(selection.best(group, version)[1]['config']),
                              epochs=FAMILY_EPOCHS, lr_constant_epochs=FAMILY_EPOCHS,
                              evaluate_test=True)
          for (corpus, model, _), group in sorted(groups.items())
          if corpus == dataset and model in selection.FAMILY]


def plan(grids, datasets, version, seeds=(0,), results_dir=None) -> list[Run]:
  """Runs in order (dataset-major, then seed), each distinct run once."""
  runs, seen = [], set()
  for dataset in datasets:
    for grid in grids:
      if grid == 'nade_chosen':
        grid_configs = chosen_configs(results_dir, dataset, version)
      elif grid == 'nade_augment':
        grid_configs = augmented_configs(results_dir, dataset, version)
      elif grid == 'family_long':
        grid_configs = family_long_configs(results_dir, dataset, version)
      else:
        grid_configs = [configs.get_config('paper', dataset=dataset, data_version=version,
                                           **{**configs.PREVIOUS_DEFAULTS, **override})
                        for override in grid_overrides(grid)]
      for config in grid_configs:
        for seed in seeds:
          seeded = dataclasses.replace(config, seed=int(seed))
          name = configs.run_name(seeded)
          if name in seen:
            continue
          seen.add(name)
          runs.append(Run(seeded, cli.config_argv(seeded, configs.CONFIGS['paper'])))
  return runs


def _execute(run: Run, index: int, total: int, again: bool) -> tuple[str, int, float]:
  """Trains `run` in a `train.py` process; returns its name, exit status and seconds. A run
  finished or taken by another process since the sweep listed it is left to that one."""
  # A run trained again is finished once its new run.json is written, not by its old copy.
  status = run.status(_RUNS_DIR.value, None if again else _RESULTS_DIR.value)
  if status.startswith(('finished', rundir.BUSY)):
    print(f'[{index}/{total}] {run.name}: {status} since listed; skipped', flush=True)
    return run.name, 0, 0.0
  os.makedirs(_LOGS_DIR.value, exist_ok=True)
  log_path = os.path.join(_LOGS_DIR.value, f'{run.name}.log')
  command = [sys.executable, 'train.py', *run.args, *_EXTRA.value,
             f'--output_dir={os.path.join(_RUNS_DIR.value, run.name)}',
             f'--results_dir={_RESULTS_DIR.value}', *(['--overwrite_results'] if again else [])]
  print(f'[{index}/{total}] {run.name}: started ({run.status(_RUNS_DIR.value)}); '
        f'log: {log_path}', flush=True)
  start = time.time()
  with open(log_path, 'a') as log:
    code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT,
                           env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
  return run.name, code, time.time() - start


def varied_fields(run_configs: list[configs.Config]) -> list[str]:
  """The config fields whose values differ between the configs (dataset always)."""
  rows = [dataclasses.asdict(config) for config in run_configs]
  return ['dataset'] + [k for k in rows[0] if k != 'dataset' and
                        len({repr(row[k]) for row in rows}) > 1]


def _write_hparams_view(runs: list[Run], runs_dir: str) -> None:
  """TensorBoard's HParams view of the runs folder (`tensorboard --logdir=runs`): one row per
  run, the fields that vary over this sweep's runs and the ones already there (other sweeps
  share the folder) against the validation ELBO."""
  cli.import_tensorflow_quietly()
  from srnn_tf import hparams   # TensorFlow's: loaded quietly just above
  os.makedirs(runs_dir, exist_ok=True)
  there = [files.read_json(path) for path in
           glob.glob(os.path.join(runs_dir, '*', rundir.CONFIG_JSON))]
  hparams.write_hparams_config(runs_dir, varied_fields(
      [run.config for run in runs] + [configs.from_dict(c) for c in there if c]))


def main(argv):
  del argv
  runs = [run for run in plan(_GRIDS.value, _DATASETS.value, _DATA_VERSION.value,
                              _SEEDS.value, _RESULTS_DIR.value)
          if not _NAME_CONTAINS.value or any(s in run.name for s in _NAME_CONTAINS.value)]
  todo, again, busy = [], set(), 0
  for run in runs:
    status = run.status(_RUNS_DIR.value, _RESULTS_DIR.value)
    if status.startswith('finished') and _RETRAIN_UNBOUNDED.value and run.unbounded(
        _RUNS_DIR.value, _RESULTS_DIR.value):
      status += '; IWAE/SMC not measured, weights not here: trained again'
      again.add(run.name)
    print(f'{run.name:45s} {status}')
    if status.startswith(rundir.BUSY):
      busy += 1
    elif not status.startswith('finished') or run.name in again:
      todo.append(run)
  print(f'{len(runs)} runs, {len(runs) - len(todo) - busy} finished, '
        + (f'{busy} {rundir.BUSY}, ' if busy else '') + f'{len(todo)} to run.', flush=True)
  if _DRY_RUN.value or not todo:
    return 0
  _write_hparams_view(runs, _RUNS_DIR.value)
  failures = 0
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=_JOBS.value)
  try:
    futures = [pool.submit(_execute, run, i + 1, len(todo), run.name in again)
               for i, run in enumerate(todo)]
    for future in concurrent.futures.as_completed(futures):
      name, code, seconds = future.result()
      run = next(r for r in todo if r.name == name)
      if code == errors.RunBusyError.exit_status:
        outcome = f'{rundir.BUSY}: skipped'   # taken between the status check and train.py's lock
      elif code:
        outcome = f'FAILED (exit {code}; see {_LOGS_DIR.value}/{name}.log)'
        failures += 1
      else:
        outcome = run.status(_RUNS_DIR.value)
      print(f'{name}: {outcome}, {seconds / 60:.1f} min', flush=True)
  finally:
    # Ctrl-C (or any error) starts no queued run: the executor's own exit would start and
    # finish each of them. The trainings running get the terminal's SIGINT themselves.
    pool.shutdown(wait=False, cancel_futures=True)
  return 1 if failures else 0


if __name__ == '__main__':
  cli.run(main)
