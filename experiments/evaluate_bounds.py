"""IWAE and SMC estimates of log p(x) on the test split for every finished latent run that
lacks them, and the test ELBO of a search's chosen candidate (trained with
`--noevaluate_test`), resumably (an evaluation whose JSON exists is skipped).

    python -m experiments.evaluate_bounds --datasets=jsb --bounds=iwae,smc --num_particles=100

Each evaluation is one `eval.py` process (output in `logs/eval_<run>_<bound>.log`) writing
`<run>/eval_<bound>_test.json` and its copy `<results_dir>/<run>.eval_<bound>_test.json`,
which `experiments.make_table` reads. An evaluation another process is running (a second
queue lane's) is left to it. RNN runs get no IWAE or SMC (their ELBO is log p(x) exactly),
and so are runs not named by `configs.run_name` (RL-tuned models, diagnostics, probes), and a
NADE search's candidates that validation did not choose (`experiments.selection`): only the
chosen one's test number is reported, so the others' test split stays unread.
"""

import dataclasses
import glob
import json
import os
import subprocess
import sys

from absl import app
from absl import flags

from experiments import selection
from srnn_tf import configs
from srnn_tf import errors
from srnn_tf import files
from srnn_tf import rundir


def _passed_over(name, config, candidates):
  """Whether `name` is a search candidate that another finished candidate beats on
  validation (`candidates`: `selection.search_candidates` of its data version; a candidate
  not among them yet is not judged)."""
  fields = dataclasses.asdict(config)
  if not selection.is_search(fields):
    return False
  group = candidates.get(selection.search_key(fields), [])
  if f'{name}.json' not in {os.path.basename(path) for path, _ in group}:
    return False
  best, _ = selection.best(group, config.data_version)
  return os.path.basename(best) != f'{name}.json'


def _has_test(results_dir, name):
  """Whether the run's results JSON holds its test ELBO (its training measured it)."""
  record = files.read_json(os.path.join(results_dir, f'{name}.json'))
  return record is None or 'test' in record   # no readable JSON: nothing to add to


def pending(runs_dir, datasets, bounds, results_dir, all_sizes=False):
  """`[(run_dir, bound)]` of finished runs without that bound's test JSON: IWAE and SMC
  (`bounds`) of the latent runs, and 'elbo' for a search's chosen candidate whose training
  left the test split unread (not the family's candidates: their chosen one trained on to
  `sweep.FAMILY_EPOCHS` is the final model, and reads its test split itself). A search with
  a candidate still training here is not judged until it finishes
  (`selection.searches_in_training`)."""
  todo, candidates = [], {}   # the search candidates of each data version, read once
  training = selection.searches_in_training(runs_dir)
  for dataset in datasets:
    for run in sorted(glob.glob(os.path.join(runs_dir, f'{dataset}_*'))):
      config_path = os.path.join(run, rundir.CONFIG_JSON)
      if not (os.path.exists(os.path.join(run, rundir.MODEL_KERAS))
              and os.path.exists(config_path)):
        continue
      with open(config_path) as f:
        config = configs.from_dict(json.load(f))
      name = os.path.basename(run)
      if name != configs.run_name(config):
        continue   # not a sweep run (tuned, diagnostic, probe)
      fields = dataclasses.asdict(config)
      if (selection.is_search(fields) and
          (*selection.search_key(fields), config.data_version) in training):
        continue   # a candidate of its search still trains: not judged yet
      if config.data_version not in candidates:
        candidates[config.data_version] = selection.search_candidates(results_dir,
                                                                      config.data_version)
      if _passed_over(name, config, candidates[config.data_version]):
        continue   # validation chose another candidate: this one's test set stays unread
      if selection.is_search(fields) and config.model in selection.FAMILY:
        continue   # the final model is the chosen one trained on (`--grid=family_long`)
      wanted = [] if _has_test(results_dir, name) else ['elbo']
      if config.model != 'rnn' and (all_sizes or (config.z_dim, config.d_dim) == (100, 300)
                                    or config.emission == 'nade' or selection.is_search(fields)
                                    or selection.is_family_long(fields)):
        wanted += bounds   # not the RNN's (exact already), nor a z or d grid run's
      todo += [(run, b) for b in wanted if not os.path.exists(
          os.path.join(results_dir, f'{name}.eval_{b}_test.json'))]
  return todo


def define_flags():
  """The script's flags (defined only when it runs, so tests can import `pending` next to
  other experiment modules with flags of the same names)."""
  flags.DEFINE_list('datasets', list(configs.SMALLEST_FIRST),
                    'Corpora, in the order to evaluate them.')
  flags.DEFINE_list('bounds', ['iwae', 'smc'], 'Estimators: iwae, smc.')
  flags.DEFINE_integer('num_particles', 100, 'Particles K.')
  flags.DEFINE_string('runs_dir', 'runs', 'Where the run directories are.')
  flags.DEFINE_string('logs_dir', 'logs', 'Where each evaluation\'s output goes.')
  flags.DEFINE_string('results_dir', 'results/runs', 'Where the JSONs are copied.')
  flags.DEFINE_bool('all_sizes', False, 'Also the z and d grids\' runs (default: the '
                    'comparison tables\' runs: z=100, d=300, and the NADE models at the sizes '
                    'their search tried).')
  flags.DEFINE_bool('dry_run', False, 'Only list what would be evaluated.')


def main(argv):
  del argv
  f = flags.FLAGS
  todo = pending(f.runs_dir, f.datasets, f.bounds, f.results_dir, f.all_sizes)
  print(f'{len(todo)} evaluations to run (K={f.num_particles})', flush=True)
  for i, (run, bound) in enumerate(todo, 1):
    name = os.path.basename(run)
    log = os.path.join(f.logs_dir, f'eval_{name}_{bound}.log')
    print(f'[{i}/{len(todo)}] {name} {bound}: log {log}', flush=True)
    if f.dry_run:
      continue
    os.makedirs(f.logs_dir, exist_ok=True)
    # One process per (run, bound): a second queue lane walking the same list moves on.
    try:
      with files.exclusive(os.path.join(run, f'.eval_{bound}.lock'), 'skipped'):
        if os.path.exists(os.path.join(f.results_dir, f'{name}.eval_{bound}_test.json')):
          print('  measured since listed; skipped', flush=True)
          continue
        with open(log, 'a') as out:
          code = subprocess.call(
              [sys.executable, 'eval.py', f'--run={run}', f'--bound={bound}', '--splits=test',
               f'--num_particles={f.num_particles}', f'--results_dir={f.results_dir}'],
              stdout=out, stderr=subprocess.STDOUT)
    except errors.RunBusyError as e:
      print(f'  {e}', flush=True)
      continue
    print(f'  {"done" if code == 0 else f"failed (exit {code}), see the log"}', flush=True)


if __name__ == '__main__':
  define_flags()
  app.run(main)
