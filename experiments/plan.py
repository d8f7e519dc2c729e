"""The experiments as the workflow (`workflow/Snakefile`) sees them: each step of its config
(`workflow/config.yaml`) expanded into the files it must produce, in priority order, and the
`train.py` flags of every run behind them. Plain Python, so that tests and scripts read the
same plan Snakemake does.

A step is one mapping of the config's `steps` list:

    train: [{config: balstm, dataset: jsb, seed: 0}, ...]   # runs, each a preset and overrides
    sweep: [nade_pretrain]                                  # or `experiments.sweep`'s grids,
    datasets: [jsb]                                         # over these corpora,
    version: boulanger                                      # this data version,
    seeds: [0]                                              # at these seeds;
    name_contains: [dropd]                                  # only runs named so (optional)

and what to measure on each of its runs beyond its training (all optional):

    bounds: true        # IWAE and SMC of the latent runs, the chosen candidate's test ELBO
    retrain: true       # ... also where a committed run's weights are gone (trained again)
    transposed: true    # the test split in D (Johnson 2017's Table 2), beside the plain one
    release: true       # the test split from the release's own first frames (srnn2016)
    music: keepbest     # sample statistics of the step's runs per corpus and version, named
    include: [keepbest] # ... with these earlier ones' rows beside them
    pieces: true        # two pieces of each run (MIDI, piano roll; audio of the first)

Each file is a target of one rule, known by its name (`kind`):

    <results>/<run>.json                                       train
    <results>/<run>.eval_{iwae,smc,elbo}_test.json             bound
    <results>/<run>.eval_elbo_test_transpose2.json             transposed
    <results>/<run>.eval_elbo_test_release_first_frame.json    release
    <music>/stats_<corpus>_<version>_<label>.json              music
    <music>/<run>/sample_seed1_0.oga                           piece

(`<music>`: `music` beside `<results>`.)

A search's chosen candidate is known only once every candidate has finished: what needs a
choice (the `nade_chosen` and `nade_augment` grids, the bounds of search candidates) asks
`choose(dataset, version, group)`, true once that group of searches (`search_group`) of the
corpus and version is complete, and is left out until then. The Snakefile's `choose` also
puts that group's checkpoint in the graph, after which Snakemake expands the steps again.
"""

import dataclasses
import functools
import os
from collections.abc import Callable, Iterable

from experiments import selection
from experiments import sweep
from srnn_tf import cli
from srnn_tf import configs
from srnn_tf import rundir

# What each kind of target is called, after `<results>/<run>`.
SUFFIXES = {
    'train': '.json',
    'transposed': '.eval_elbo_test_transpose2.json',
    'release': '.eval_elbo_test_release_first_frame.json',
}
BOUNDS = ('iwae', 'smc')
MEASURES = ('bounds', 'retrain', 'transposed', 'release', 'music', 'include', 'pieces')
# The grids made of a search's chosen candidates (`experiments.sweep`), and the groups of
# searches (`search_group`) whose choices each waits for.
CHOICE_GRIDS = {'nade_chosen': ('nade',), 'nade_augment': ('nade',),
                'family_long': selection.FAMILY}


def bound_suffix(bound: str) -> str:
  return f'.eval_{bound}_test.json'


@dataclasses.dataclass(frozen=True)
class Run:
  """One training: its name (`configs.run_name`), `train.py` flags and config."""
  name: str
  flags: tuple[str, ...]
  config: configs.Config


@dataclasses.dataclass(frozen=True)
class Target:
  """A file the workflow produces: `path`, made by the rule `kind` for `runs` (one, but for
  sample statistics); `include`: earlier statistics whose rows go beside theirs."""
  path: str
  kind: str
  runs: tuple[Run, ...]
  include: tuple[str, ...] = ()

  @property
  def run(self) -> Run:
    return self.runs[0]


def music_dir(results_dir: str) -> str:
  return os.path.join(os.path.dirname(results_dir), 'music')


def stats_path(results_dir: str, dataset: str, version: str, label: str) -> str:
  return os.path.join(music_dir(results_dir), f'stats_{dataset}_{version}_{label}.json')


def piece_path(results_dir: str, name: str) -> str:
  return os.path.join(music_dir(results_dir), name, 'sample_seed1_0.oga')


def run_of(config: configs.Config) -> Run:
  """The run that trains `config` (flags relative to the paper preset, as the sweeps give)."""
  return Run(configs.run_name(config), tuple(cli.config_argv(config, configs.CONFIGS['paper'])),
             config)


def _train_runs(entries: Iterable[dict]) -> list[Run]:
  runs = []
  for entry in entries:
    overrides = dict(entry)
    preset = overrides.pop('config', 'paper')
    runs.append(run_of(configs.get_config(preset, **overrides)))
  return runs


def _as_list(value) -> list:
  return list(value) if isinstance(value, (list, tuple)) else [value]


Choose = Callable[[str, str, str], bool]


def search_group(fields: dict) -> str:
  """The searches one choice waits for: 'nade' (the NADE comparison's three models, chosen
  together), or the family model's name (its two emissions' searches)."""
  return fields['model'] if fields['model'] in selection.FAMILY else 'nade'


def step_runs(step: dict, results_dir: str, choose: Choose) -> list[Run]:
  """The runs one step trains, in its order (those that wait for a choice left out)."""
  unknown = set(step) - {'train', 'sweep', 'datasets', 'version', 'seeds', 'name_contains',
                         *MEASURES}
  if unknown or ('train' in step) == ('sweep' in step):
    raise ValueError(f'workflow step {step}: give `train` or `sweep` (and {", ".join(MEASURES)}, '
                     f'for a sweep datasets, version, seeds, name_contains)'
                     + (f'; unknown: {", ".join(sorted(unknown))}' if unknown else ''))
  if 'train' in step:
    return _train_runs(step['train'])
  grids = _as_list(step['sweep'])
  datasets = _as_list(step.get('datasets', configs.SMALLEST_FIRST))
  version = step.get('version', 'srnn2016')
  groups = {group for grid in grids for group in CHOICE_GRIDS.get(grid, ())}
  # Every group asked (no short cut): each unchosen one puts its checkpoint in the graph.
  datasets = [dataset for dataset in datasets
              if all([choose(dataset, version, group) for group in sorted(groups)])]
  runs = sweep.plan(grids, datasets, version, _as_list(step.get('seeds', [0])), results_dir)
  contains = _as_list(step.get('name_contains', []))
  return [run_of(run.config) for run in runs
          if not contains or any(s in run.name for s in contains)]


def wanted_bounds(run: Run, choose: Choose, candidates: Callable[[str], dict]) -> list[str]:
  """The test-split evaluations a run's numbers need beyond its training, as
  `experiments.evaluate_bounds` chooses them: IWAE and SMC for a latent run (not a z or d grid
  run's other sizes), and the test ELBO of a search's chosen candidate (trained without
  reading it); nothing for a candidate validation passed over, or not yet chosen.
  `candidates(version)`: `selection.search_candidates` of the results folder."""
  config = run.config
  fields = dataclasses.asdict(config)
  wanted = []
  if selection.is_search(fields):
    if config.model in selection.FAMILY:
      return []   # its final model is the chosen candidate trained on (`is_family_long`)
    if not choose(config.dataset, config.data_version, search_group(fields)):
      return []
    group = candidates(config.data_version).get(selection.search_key(fields), [])
    best, _ = selection.best(group, config.data_version) if group else (None, None)
    if best is None or os.path.basename(best) != f'{run.name}.json':
      return []
    if not config.evaluate_test:
      wanted.append('elbo')
  if config.model in configs.LATENT_MODELS and (
      (config.z_dim, config.d_dim) == (100, 300) or config.emission == 'nade'
      or selection.is_search(fields) or selection.is_family_long(fields)):
    wanted += BOUNDS
  return wanted


def targets(steps: list[dict], results_dir: str, runs_dir: str,
            choose: Choose) -> list[Target]:
  """Every file the steps produce, in priority order (a file two steps want, once).

  A committed run's evaluations are wanted where its weights are in `runs_dir`, or its step
  says `retrain` (trained again first: a run folder does not outlive its machine), or it is
  still to train; transposed and release evaluations train a run again whatever its step
  says, their weights being gone otherwise.
  """
  found, seen = [], set()
  candidates = functools.cache(lambda version: selection.search_candidates(results_dir, version))

  def add(path, kind, *runs, include=()):
    if path not in seen:
      seen.add(path)
      found.append(Target(path, kind, runs, include))

  for step in steps:
    runs = step_runs(step, results_dir, choose)
    for run in runs:
      stem = os.path.join(results_dir, run.name)
      add(stem + SUFFIXES['train'], 'train', run)
      committed = os.path.exists(stem + SUFFIXES['train'])
      weights = os.path.exists(os.path.join(runs_dir, run.name, rundir.MODEL_KERAS))
      if step.get('bounds') and (weights or step.get('retrain') or not committed):
        for bound in wanted_bounds(run, choose, candidates):
          add(stem + bound_suffix(bound), 'bound', run)
      for kind in ('transposed', 'release'):
        if step.get(kind):
          add(stem + SUFFIXES[kind], kind, run)
      if step.get('pieces'):
        add(piece_path(results_dir, run.name), 'piece', run)
    if step.get('music'):
      groups = {}
      for run in runs:
        groups.setdefault((run.config.dataset, run.config.data_version), []).append(run)
      for (dataset, version), group in groups.items():
        add(stats_path(results_dir, dataset, version, step['music']), 'music', *group,
            include=tuple(stats_path(results_dir, dataset, version, label)
                          for label in _as_list(step.get('include', []))))
  return found


def search_inputs(steps: list[dict], results_dir: str, dataset: str, version: str,
                  group: str) -> list[str]:
  """The run JSONs of one group of searches' candidates (`search_group`) of one corpus and
  version that the steps train: the choice waits for them."""
  paths = []
  for step in steps:
    if set(CHOICE_GRIDS) & set(_as_list(step.get('sweep', []))):
      continue
    for run in step_runs(step, results_dir, lambda *_: False):
      c, fields = run.config, dataclasses.asdict(run.config)
      if ((c.dataset, c.data_version) == (dataset, version) and selection.is_search(fields)
          and search_group(fields) == group):
        paths.append(os.path.join(results_dir, run.name + SUFFIXES['train']))
  return sorted(set(paths))
