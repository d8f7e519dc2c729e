"""Model selection on the validation set: which candidate of a search is reported.

A search (`experiments.sweep --grid=nade_pretrain`, ...) trains several candidates of each
corpus and model; the one with the best validation number, in the convention of the data
version's published numbers (`published.score`), is the one whose test number is reported and
whose samples are studied. The test split plays no part in the choice.

    python -m experiments.selection --dataset=nottingham --data_version=boulanger
    # runs/<chosen RNN-NADE>,runs/<chosen VRNN-NADE>,runs/<chosen SRNN-NADE>

prints the chosen NADE runs' directories (for `experiments.sample_stats --runs=` and
`generate.py --run=`); it fails, saying why, while a model has no finished candidate, a
candidate of its search still trains, or a chosen run's weights are not in `--runs_dir`.
"""

import glob
import os
import re

from absl import flags

from experiments.published import load_run, score
from srnn_tf import cli, configs, files, rundir
from srnn_tf.data import registry

MODELS = ('rnn', 'vrnn', 'srnn')


def is_nade_search(config) -> bool:
  """A candidate of the NADE search (`experiments.sweep --grid=nade...`, at the searches'
  epoch cap); not a replicate of one at another seed (`--grid=nade_chosen --seeds=...`:
  `is_replicate`), nor a chosen model trained again with transposition augmentation
  (`--grid=nade_augment`, its own experiment: the SRNN-NADE has no such candidates, so they
  would unbalance the comparison's search)."""
  return (config.get('emission') == 'nade' and config.get('keep_best')
          and config.get('lr_constant_epochs', 0) >= config.get('epochs', 1)
          and config.get('epochs') == configs.SEARCH_EPOCHS
          and not is_replicate(config) and not config.get('transpose_augment'))


# The rest of the family (`experiments.sweep --grid=dmm,storn`): searched with the NADE
# comparison's protocol for each emission, Bernoulli and NADE, one choice per emission.
FAMILY = ('dmm', 'storn')


def is_search(config) -> bool:
  """A candidate of a validation search: the NADE comparison's (`is_nade_search`), or the
  family's, of either emission (not its chosen candidate trained on: `is_family_long`)."""
  return is_nade_search(config) or (
      config.get('model') in FAMILY and config.get('keep_best')
      and config.get('lr_constant_epochs', 0) >= config.get('epochs', 1)
      and config.get('epochs') == configs.SEARCH_EPOCHS
      and not is_replicate(config) and not config.get('transpose_augment'))


def is_family_long(config) -> bool:
  """A family search's chosen candidate trained again to a longer cap (`experiments.sweep
  --grid=family_long`): that search's final model."""
  return (config.get('model') in FAMILY and config.get('keep_best')
          and config.get('lr_constant_epochs', 0) >= config.get('epochs', 1)
          and config.get('epochs', 0) > configs.SEARCH_EPOCHS and not is_replicate(config))


def finished_runs(folder, version, kind):
  """`(json path, run)` of each finished run of `version` in `folder` whose config is of
  `kind` (a predicate: `is_search`, `is_family_long`), by path."""
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    run = load_run(path)
    c = run.get('config', {})
    if 'valid' in run and kind(c) and c.get('data_version') == version:
      yield path, run


def family_long(folder, version='boulanger'):
  """`{search_key: (json path, run)}`: the finished `is_family_long` runs of `version`."""
  return {search_key(run['config']): (path, run)
          for path, run in finished_runs(folder, version, is_family_long)}


def search_key(config) -> tuple:
  """`(corpus, model, emission)`: the candidates that one choice is made among."""
  return config['dataset'], config['model'], config.get('emission', 'bernoulli')


def search_candidates(folder, version='boulanger'):
  """`{search_key: [(json path, run)]}`: the finished search candidates of `version`."""
  groups = {}
  for path, run in finished_runs(folder, version, is_search):
    groups.setdefault(search_key(run['config']), []).append((path, run))
  return groups


def is_replicate(config) -> bool:
  """A run trained again at a seed other than 0, to measure the spread over seeds."""
  return bool(config.get('seed'))


def nade_candidates(folder, version='boulanger'):
  """`{(corpus, model): [(json path, run)]}`: the finished NADE-search runs of `version`."""
  return {(corpus, model): group
          for (corpus, model, emission), group in search_candidates(folder, version).items()
          if emission == 'nade'}


def best(candidates, version):
  """The `(path, run)` of `candidates` with the best validation number."""
  return max(candidates, key=lambda pr: score(pr[1]['valid'], version))


def dropout_margins(folder, version='boulanger') -> list[float]:
  """How much better each dropout candidate of the NADE search of `version` validates than
  its twin without dropout (the run of the same name less its `_drop...` part), per step in
  `published.score`'s convention; negative where the twin won."""
  margins = []
  for candidates in nade_candidates(folder, version).values():
    by_name = {os.path.basename(path): run for path, run in candidates}
    for name, run in by_name.items():
      twin = by_name.get(re.sub(r'_drop[0-9a-z.]+_', '_', name))
      if twin is not None and twin is not run:
        margins.append(score(run['valid'], version) - score(twin['valid'], version))
  return margins


def searches_in_training(runs_dir) -> set:
  """`{(corpus, model, emission, version)}` of the searches with a candidate still training in
  `runs_dir` (a run directory without its `model.keras`, e.g. the other queue lane's). Such a
  search is not judged until it finishes: its finished candidates may yet lose to that one."""
  found = set()
  for config_path in glob.glob(os.path.join(runs_dir, '*', rundir.CONFIG_JSON)):
    c = files.read_json(config_path)
    if (c and is_search(c) and
        not os.path.exists(os.path.join(os.path.dirname(config_path), rundir.MODEL_KERAS))):
      found.add((*search_key(c), c['data_version']))
  return found


def chosen_run_dirs(results, runs_dir, dataset, version, present_only=False):
  """The run directories of the chosen RNN-, VRNN- and SRNN-NADE of one corpus and version;
  with `present_only`, only those whose weights are in `runs_dir`.

  Raises:
    LookupError: a model has no finished candidate, or (unless `present_only`, which leaves
      such a model out) a candidate of its search still trains (`searches_in_training`) or
      its chosen run's weights are not in `runs_dir` (run directories are not committed: a
      fresh machine trains the run again).
  """
  groups = nade_candidates(results, version)
  training = searches_in_training(runs_dir)
  dirs = []
  for model in MODELS:
    if (dataset, model) not in groups:
      raise LookupError(f'no finished {model.upper()}-NADE candidate of {dataset} ({version}) '
                        f'in {results}')
    if (dataset, model, 'nade', version) in training:
      if present_only:
        continue
      raise LookupError(f'the {model.upper()}-NADE search of {dataset} ({version}) still '
                        f'trains a candidate in {runs_dir}: validation has not chosen yet')
    path, _ = best(groups[dataset, model], version)
    run_dir = os.path.join(runs_dir, os.path.basename(path)[:-len('.json')])
    if not os.path.exists(os.path.join(run_dir, rundir.MODEL_KERAS)):
      if present_only:
        continue
      raise LookupError(f'{run_dir}: the chosen {model.upper()}-NADE\'s weights are not here')
    dirs.append(run_dir)
  return dirs


def define_flags():
  """The script's flags (defined only when it runs, so that other experiment modules with
  flags of these names can import this one)."""
  flags.DEFINE_string('dataset', None, 'Corpus.', required=True)
  flags.DEFINE_enum('data_version', 'boulanger', registry.VERSIONS, 'Data version.')
  flags.DEFINE_string('results', 'results/runs', 'Folder of run JSONs.')
  flags.DEFINE_string('runs_dir', 'runs', 'Folder of run directories.')
  flags.DEFINE_bool('present_only', False, 'Print only the chosen runs whose weights are in '
                    '--runs_dir (perhaps none) instead of failing on the others.')
  flags.DEFINE_string('output', None, 'Instead: write the searches of the corpus and version '
                      '(--group\'s) with their candidates and the one chosen to this JSON file.')
  flags.DEFINE_string('group', None, 'With --output: `nade` (the NADE comparison) or a family '
                      'model (dmm, storn); default: every search.')


def choices(results, dataset, version, models=None) -> dict:
  """`{"<model>/<emission>": {"chosen": run, "candidates": {run: valid score}}}` of every
  search of one corpus and version (of `models`, default all) with a finished candidate in
  `results`."""
  found = {}
  for (corpus, model, emission), group in sorted(search_candidates(results, version).items()):
    if corpus != dataset or (models is not None and model not in models):
      continue
    name = lambda path: os.path.basename(path)[:-len('.json')]
    found[f'{model}/{emission}'] = {
        'chosen': name(best(group, version)[0]),
        'candidates': {name(path): score(run['valid'], version) for path, run in group}}
  return found


def main(argv):
  del argv
  f = flags.FLAGS
  if f.output:
    models = {None: None, 'nade': MODELS}.get(f.group, (f.group,))
    files.write_json(f.output, choices(f.results, f.dataset, f.data_version, models))
    return 0
  try:
    print(','.join(chosen_run_dirs(f.results, f.runs_dir, f.dataset, f.data_version,
                                   f.present_only)))
  except LookupError as e:
    return cli.fail(str(e))
  return 0


if __name__ == '__main__':
  define_flags()
  cli.run(main)
