"""The experiments' workflow (workflow/Snakefile on Snakemake): its plan, dry runs of the real
config and of the cluster profile, and an interrupted workflow resuming without redoing what
finished (tiny runs on the real data)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from experiments import plan
from srnn_tf import configs

ROOT = pathlib.Path(__file__).resolve().parents[1]
SNAKEMAKE = pathlib.Path(sys.executable).with_name('snakemake')
TINY = dict(config='small', model='rnn', dataset='jsb', data_version='srnn2016', seq_len=20,
            saved_model=False)


def _snakemake(*args, cwd, env=None):
  return subprocess.run([str(SNAKEMAKE), '--snakefile', str(ROOT / 'workflow' / 'Snakefile'),
                         *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600,
                        env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', **(env or {})})


def _jobs(output: str, rule: str) -> list[str]:
  """The outputs of a dry run's jobs of one rule (each job: a `rule NAME:` line, then
  indented `key: value` lines)."""
  jobs, current = [], None
  for line in output.splitlines():
    if not line.startswith(' '):
      current = line.strip() in (f'rule {rule}:', f'localrule {rule}:')
    elif current and line.strip().startswith('output: '):
      jobs.append(line.strip()[len('output: '):])
  return jobs


def test_a_step_is_checked_and_a_choice_waits_for_its_candidates(tmp_path):
  with pytest.raises(ValueError, match='unknown: epochs'):
    plan.targets([{'sweep': 'paper', 'epochs': 3}], str(tmp_path), str(tmp_path), None)
  asked = []

  def not_yet(*key):
    asked.append(key)
    return False
  steps = [{'sweep': 'nade_pretrain', 'version': 'boulanger', 'datasets': ['jsb'],
            'bounds': True},
           {'sweep': 'nade_chosen', 'version': 'boulanger', 'datasets': ['jsb'],
            'bounds': True}]
  targets = plan.targets(steps, str(tmp_path), str(tmp_path), not_yet)
  # The search's seven candidates train; nothing that needs its choice is listed yet, and
  # their bounds wait for it.
  assert [t.kind for t in targets] == ['train'] * 7
  assert set(asked) == {('jsb', 'boulanger', 'nade')}
  assert len(plan.search_inputs(steps, str(tmp_path), 'jsb', 'boulanger', 'nade')) == 7
  assert plan.search_inputs(steps, str(tmp_path), 'jsb', 'boulanger', 'dmm') == []


def test_each_family_search_s_chosen_candidate_is_trained_on_as_its_final_model(tmp_path):
  """The DMM search's candidates (200 epochs, their test split unread) are not evaluated on
  the test split; the one validation prefers, per emission, is trained again to 2,000 epochs
  (`family_long`), and that run's test split and bounds are what the workflow reads."""
  import dataclasses
  steps = [{'sweep': 'dmm', 'version': 'boulanger', 'datasets': ['jsb'], 'bounds': True},
           {'sweep': 'family_long', 'version': 'boulanger', 'datasets': ['jsb'],
            'bounds': True}]
  candidates = plan.step_runs(steps[0], str(tmp_path), lambda *_: True)
  assert len(candidates) == 8 and all(r.config.epochs == 200 for r in candidates)
  valid = {run.name: -7.0 - 0.1 * i for i, run in enumerate(candidates)}  # the first wins
  for run in candidates:
    (tmp_path / f'{run.name}.json').write_text(json.dumps({
        'config': dataclasses.asdict(run.config),
        'valid': {'elbo_per_step': valid[run.name], 'elbo_total_per_step': valid[run.name]}}))
  asked = []
  targets = plan.targets(steps, str(tmp_path), str(tmp_path / 'runs'),
                         lambda *key: asked.append(key) or True)
  assert {key[2] for key in asked} == {'dmm', 'storn'}
  longs = [t for t in targets if t.kind == 'train' and '_ep2000' in t.path]
  chosen = {e: max((r for r in candidates if r.config.emission == e),
                   key=lambda r: valid[r.name]) for e in ('bernoulli', 'nade')}
  assert sorted(os.path.basename(t.path) for t in longs) == sorted(
      f'{r.name}_ep2000.json' for r in chosen.values())
  for t in longs:
    config = t.runs[0].config
    assert (config.epochs, config.lr_constant_epochs, config.evaluate_test) == (2000, 2000, True)
  bounds = sorted(os.path.basename(t.path) for t in targets if t.kind == 'bound')
  assert bounds == sorted(f'{r.name}_ep2000.eval_{b}_test.json'
                          for r in chosen.values() for b in ('iwae', 'smc'))


def test_the_real_config_dry_run_lists_only_what_is_missing(tmp_path):
  """`snakemake -n` over the committed results: every training it lists has no results
  JSON, and the tables come last."""
  results = ROOT / 'results' / 'runs'
  done = _snakemake('-n', '--config', f'results_dir={results}', f'runs_dir={tmp_path / "runs"}',
                    f'logs_dir={tmp_path / "logs"}', cwd=tmp_path)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  trained = _jobs(done.stdout, 'train')
  assert all(not os.path.exists(path) for path in trained)
  configured = yaml.safe_load(open(ROOT / 'workflow' / 'config.yaml'))['steps']
  expected = {t.path for t in plan.targets(configured, str(results), str(tmp_path / 'runs'),
                                           lambda *_: True) if t.kind == 'train'}
  assert set(trained) <= expected


def test_an_interrupted_workflow_resumes_without_redoing_finished_runs(data_dir, tmp_path):
  """Two tiny runs; the second is killed (SIGKILL at its second epoch's backup). The dry run,
  locally and with the SLURM profile, lists what is left; the rerun resumes the killed run
  from its first epoch, leaves the finished one alone and writes the tables; a third run has
  nothing to do."""
  config = {'results_dir': 'results/runs', 'runs_dir': 'runs', 'logs_dir': 'logs',
            'train_flags': [f'--data_dir={data_dir}'],
            'steps': [{'train': [{**TINY, 'epochs': 1}, {**TINY, 'epochs': 2, 'seed': 1}]}]}
  (tmp_path / 'tiny.yaml').write_text(yaml.safe_dump(config))
  first, second = (configs.run_name(configs.get_config('small', **{
      k: v for k, v in entry.items() if k != 'config'})) for entry in config['steps'][0]['train'])
  args = ('--configfile', 'tiny.yaml')

  killed = _snakemake(*args, cwd=tmp_path, env={'SRNN_TF_FAILPOINT': 'write:state.json@2'})
  assert killed.returncode != 0
  finished = tmp_path / 'results' / 'runs' / f'{first}.json'
  assert finished.exists() and not (tmp_path / 'results' / 'runs' / f'{second}.json').exists()
  stamp = finished.stat().st_mtime_ns

  for profile in ([], ['--profile', ROOT / 'workflow' / 'profiles' / 'slurm']):
    dry = _snakemake('-n', *args, *profile, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert _jobs(dry.stdout, 'train') == [f'results/runs/{second}.json']
    assert {'results/TABLE.md', 'results/REPORT.md'} == {
        *_jobs(dry.stdout, 'table'), *_jobs(dry.stdout, 'report')}

  resumed = _snakemake(*args, cwd=tmp_path)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert finished.stat().st_mtime_ns == stamp
  log = (tmp_path / 'logs' / f'{second}.log').read_text()
  assert 'resuming' in log and 'epoch 1:' in log, log[-2000:]   # both attempts' console
  history = (tmp_path / 'results' / 'runs' / f'{second}.history.csv').read_text().splitlines()
  assert len(history) == 3   # header and two epochs: the first kept, not trained again
  record = json.loads((tmp_path / 'results' / 'runs' / f'{second}.json').read_text())
  assert record['epochs_trained'] == 2
  for table in ('TABLE.md', 'REPORT.md'):
    assert (tmp_path / 'results' / table).stat().st_mtime_ns > stamp

  again = _snakemake(*args, cwd=tmp_path)
  assert again.returncode == 0 and 'Nothing to be done' in again.stdout + again.stderr
