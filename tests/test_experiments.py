"""The sweep runner and the report builder, on fake run records (no training)."""

import dataclasses
import json
import os
import subprocess
import sys
import threading

import pytest

from experiments import sweep
from srnn_tf import files, rundir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_plan_lists_each_distinct_run_once():
  runs = sweep.plan(['z', 'd', 'paper'], ['jsb', 'piano'], 'srnn2016')
  names = [r.name for r in runs]
  assert len(names) == len(set(names)) == 2 * (len(sweep.Z_GRID) + len(sweep.D_GRID) - 1)
  assert names[0] == 'jsb_srnn2016_srnn_z2_d300'
  assert 'piano_srnn2016_srnn_z100_d500' in names
  baselines = [r.name for r in sweep.plan(['baselines'], ['jsb'], 'boulanger')]
  assert baselines == ['jsb_boulanger_rnn_d300', 'jsb_boulanger_vrnn_z100_d300',
                       'jsb_boulanger_srnn_filtering_z100_d300',
                       'jsb_boulanger_srnn_smoothing_noresq_z100_d300']
  with pytest.raises(ValueError, match='unknown grid'):
    sweep.plan(['q'], ['jsb'], 'srnn2016')


def test_a_committed_run_counts_as_finished_without_its_run_directory(tmp_path):
  (run,) = sweep.plan(['paper'], ['jsb'], 'srnn2016')
  results = tmp_path / 'results'
  results.mkdir()
  assert run.status(str(tmp_path / 'runs'), str(results)) == 'not started'
  with open(results / f'{run.name}.json', 'w') as f:
    json.dump({'test': {'elbo_per_step': -5.5}}, f)
  assert run.status(str(tmp_path / 'runs'), str(results)) == 'finished, test ELBO/step -5.500'
  assert run.status(str(tmp_path / 'runs')) == 'not started'
  # A search's candidate (trained with --noevaluate_test) shows its validation number.
  candidate = sweep.plan(['nade_pretrain'], ['jsb'], 'srnn2016')[0]
  with open(results / f'{candidate.name}.json', 'w') as f:
    json.dump({'valid': {'elbo_per_step': -3.5}}, f)
  assert candidate.status(str(tmp_path / 'runs'), str(results)) == \
      'finished, valid ELBO/step -3.500'


def test_a_run_another_process_holds_is_left_to_it(tmp_path):
  """Two queue lanes walk one list: each skips the runs the other is training."""
  first, second = sweep.plan(['ablations'], ['jsb'], 'srnn2016')
  runs_dir = tmp_path / 'runs'
  os.makedirs(runs_dir / first.name)
  listing = lambda: subprocess.run(
      [sys.executable, '-m', 'experiments.sweep', '--grid=ablations', '--datasets=jsb',
       f'--runs_dir={runs_dir}', f'--results_dir={tmp_path}', '--dry_run'],
      cwd=ROOT, capture_output=True, text=True, check=True).stdout
  with rundir.locked(str(runs_dir / first.name)):
    assert first.status(str(runs_dir)) == f'{rundir.BUSY} (process {os.getpid()})'
    assert f'{first.name:45s} {rundir.BUSY} (process {os.getpid()})' in listing()
    assert f'2 runs, 0 finished, 1 {rundir.BUSY}, 1 to run.' in listing()
  assert first.status(str(runs_dir)) == 'not started'
  assert '2 runs, 0 finished, 2 to run.' in listing()


def test_ctrl_c_starts_no_queued_run(tmp_path, monkeypatch):
  """Ctrl-C while a sweep waits: the runs still queued are not started (the executor's own
  exit would start and finish every one of them); the running one ends by its own SIGINT."""
  import concurrent.futures
  from absl import flags
  from absl.testing import flagsaver
  started, release = [], threading.Event()

  def execute(run, index, total, again):
    started.append(run.name)
    release.wait(30)
    return run.name, 0, 0.0

  def interrupted(futures):
    raise KeyboardInterrupt
  monkeypatch.setattr(sweep, '_execute', execute)
  monkeypatch.setattr(sweep, '_write_hparams_view', lambda *args: None)
  monkeypatch.setattr(concurrent.futures, 'as_completed', interrupted)
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(grid=['z'], datasets=['jsb'], jobs=1, runs_dir=str(tmp_path / 'runs'),
                           results_dir=str(tmp_path / 'results'), logs_dir=str(tmp_path)):
    with pytest.raises(KeyboardInterrupt):
      sweep.main([])
  release.set()
  assert len(started) <= 1, started   # of the grid's six runs


def test_retrain_unbounded_picks_committed_latent_runs_without_bounds_or_weights(tmp_path):
  runs_dir, results = tmp_path / 'runs', tmp_path / 'results'
  results.mkdir()
  rnn, vrnn, filtering, noresq = sweep.plan(['baselines'], ['jsb'], 'boulanger')
  for run in (rnn, vrnn, filtering, noresq):
    (results / f'{run.name}.json').write_text(json.dumps({'test': {'elbo_per_step': -8.0}}))
  for bound in ('iwae', 'smc'):
    (results / f'{vrnn.name}.eval_{bound}_test.json').write_text('{}')
  (results / f'{noresq.name}.eval_iwae_test.json').write_text('{}')   # SMC missing
  unbounded = [r.name for r in (rnn, vrnn, filtering, noresq)
               if r.unbounded(str(runs_dir), str(results))]
  # The RNN is exact (no bounds); the VRNN has both.
  assert unbounded == [filtering.name, noresq.name]
  (runs_dir / filtering.name).mkdir(parents=True)
  (runs_dir / filtering.name / 'model.keras').write_text('')   # its weights are here
  assert not filtering.unbounded(str(runs_dir), str(results))
  listing = subprocess.run(
      [sys.executable, '-m', 'experiments.sweep', '--grid=baselines', '--datasets=jsb',
       '--data_version=boulanger', f'--runs_dir={runs_dir}', f'--results_dir={results}',
       '--retrain_unbounded', '--dry_run'], cwd=ROOT, capture_output=True, text=True)
  assert listing.returncode == 0, listing.stderr
  assert (f'{noresq.name:45s} finished, test ELBO/step -8.000; IWAE/SMC not measured, '
          'weights not here: trained again') in listing.stdout
  assert '4 runs, 3 finished, 1 to run.' in listing.stdout


def _fake_run(runs_dir, results_dir, name, elbo, epochs_done=None, valid=None):
  os.makedirs(os.path.join(runs_dir, name, 'backup'), exist_ok=True)
  if epochs_done is not None:
    with open(os.path.join(runs_dir, name, 'backup', 'training_metadata.json'), 'w') as f:
      json.dump({'epoch': epochs_done, 'batch': 0}, f)
    return
  record = {'config': {}, 'test': {'elbo_per_step': elbo, 'recon_per_step': -elbo - 1},
            'test_release_first_frame': {'elbo_per_step': elbo + 0.1},
            'valid': {'elbo_per_step': elbo if valid is None else valid}}
  for path in (os.path.join(runs_dir, name, 'run.json'),
               os.path.join(results_dir, f'{name}.json')):
    with open(path, 'w') as f:
      json.dump(record, f)
  with open(os.path.join(results_dir, f'{name}.history.csv'), 'w') as f:
    f.write('epoch,elbo,val_elbo\n' + ''.join(f'{e},{elbo - 1 / (e + 1)},{elbo - 2 / (e + 1)}\n'
                                              for e in range(5)))


def test_dry_run_and_report_from_fake_runs(tmp_path):
  runs_dir, results_dir = tmp_path / 'runs', tmp_path / 'results'
  results_dir.mkdir()
  _fake_run(runs_dir, results_dir, 'jsb_srnn2016_srnn_z10_d300', -4.9876)
  # Validation prefers z=100, test z=10: the report's choice must be validation's.
  _fake_run(runs_dir, results_dir, 'jsb_srnn2016_srnn_z100_d300', -5.4321, valid=-4.5)
  _fake_run(runs_dir, results_dir, 'jsb_srnn2016_srnn_z2_d300', None, epochs_done=7)
  common = [f'--runs_dir={runs_dir}', f'--results_dir={results_dir}', '--datasets=jsb']
  listing = subprocess.run([sys.executable, '-m', 'experiments.sweep', '--grid=z,d',
                            '--dry_run', *common], cwd=ROOT, capture_output=True, text=True)
  assert listing.returncode == 0, listing.stderr
  assert 'jsb_srnn2016_srnn_z2_d300                     7/50 epochs done' in listing.stdout
  assert rundir.progress(str(runs_dir / 'jsb_srnn2016_srnn_z2_d300')) == '7 epochs done'
  assert 'finished, test ELBO/step -4.988' in listing.stdout
  assert '8 runs, 2 finished, 6 to run.' in listing.stdout
  report = tmp_path / 'REPORT.md'
  built = subprocess.run([sys.executable, '-m', 'experiments.make_report', *common,
                          f'--output={report}', f'--figures_dir={tmp_path / "fig"}',
                          '--noreconstructions'], cwd=ROOT, capture_output=True, text=True)
  assert built.returncode == 0, built.stderr
  text = report.read_text()
  assert '| 10 | -4.988 (-4.888) / -4.819 |' in text
  assert '| 2 | _not run_ / -4.866 |' in text   # the report shows finished runs only
  assert ('| JSB | 2 of 6 | z=100: -5.432 (-5.332) | z=10: -4.819 | -0.513 '
          '| 2 z finished / peaks at z=10 (z=2-100) |') in text
  assert (tmp_path / 'fig' / 'elbo_curves.png').stat().st_size > 10_000
  assert (tmp_path / 'fig' / 'cross_entropy.png').stat().st_size > 10_000


def test_shape_over_z_names_rise_fall_and_peak():
  from experiments import make_report
  assert make_report.shape_over_z([(2, -5.0), (10, -4.9), (50, -4.8)]) == 'rises with z (z=2-50)'
  assert make_report.shape_over_z([(2, -4.8), (10, -4.9), (50, -5.0)]) == 'falls with z (z=2-50)'
  assert make_report.shape_over_z([(2, -5.0), (10, -4.8), (50, -4.9)]) == 'peaks at z=10 (z=2-50)'
  assert make_report.shape_over_z([(2, -5.0), (10, -5.1), (25, -4.8), (50, -4.9)]) == (
      'peaks at z=25, not monotone either side (z=2-50)')
  assert make_report.shape_over_z([(2, -5.0), (10, -5.1), (50, -4.8)]) == (
      'best at the largest z (50) (z=2-50)')
  assert make_report.shape_over_z([(2, -5.0), (10, -4.9)]) == '2 z finished'


def test_evaluate_bounds_picks_finished_latent_sweep_runs_without_results(tmp_path):
  from experiments import evaluate_bounds
  from srnn_tf import configs

  def fake_run(name, finished=True, **overrides):
    run = tmp_path / 'runs' / name
    run.mkdir(parents=True)
    config = dataclasses.asdict(configs.get_config(
        'paper', dataset='jsb', data_version='srnn2016', **{**configs.PREVIOUS_DEFAULTS, **overrides}))
    (run / 'config.json').write_text(json.dumps(config))
    if finished:
      (run / 'model.keras').write_text('')

  fake_run('jsb_srnn2016_srnn_z100_d300')
  fake_run('jsb_srnn2016_vrnn_z100_d300', model='vrnn')
  fake_run('jsb_srnn2016_rnn_d300', model='rnn')                     # exact: no bounds
  fake_run('jsb_srnn2016_srnn_z10_d300', z_dim=10)                   # grid run: not by default
  fake_run('jsb_srnn2016_vrnn_nade150_h150_e150_z100_d150_keepbest', model='vrnn',
           emission='nade', nade_units=150, d_dim=150, hidden_units=150, embed_units=(150,),
           keep_best=True)                                           # NADE search: at its size
  fake_run('jsb_srnn2016_srnn_z100_d300_tuned_beta2')                # not a sweep name
  fake_run('jsb_srnn2016_srnn_filtering_z100_d300', finished=False, inference='filtering')
  results = tmp_path / 'results'
  results.mkdir()
  (results / 'jsb_srnn2016_srnn_z100_d300.eval_smc_test.json').write_text('{}')
  todo = evaluate_bounds.pending(str(tmp_path / 'runs'), ['jsb'], ['iwae', 'smc'],
                                 str(results))
  assert sorted((os.path.basename(r), b) for r, b in todo) == [
      ('jsb_srnn2016_srnn_z100_d300', 'iwae'),
      ('jsb_srnn2016_vrnn_nade150_h150_e150_z100_d150_keepbest', 'iwae'),
      ('jsb_srnn2016_vrnn_nade150_h150_e150_z100_d150_keepbest', 'smc'),
      ('jsb_srnn2016_vrnn_z100_d300', 'iwae'), ('jsb_srnn2016_vrnn_z100_d300', 'smc')]
  todo = evaluate_bounds.pending(str(tmp_path / 'runs'), ['jsb'], ['iwae'], str(results),
                                 all_sizes=True)
  assert ('jsb_srnn2016_srnn_z10_d300', 'iwae') in [(os.path.basename(r), b) for r, b in todo]
  # An evaluation another process holds (a second queue lane) is left to it: with every
  # pending one held, no eval.py starts (it would fail on the empty model.keras).
  import contextlib
  runs = tmp_path / 'runs'
  held = evaluate_bounds.pending(str(runs), ['jsb'], ['iwae', 'smc'], str(results))
  with contextlib.ExitStack() as stack:
    for run, bound in held:
      stack.enter_context(files.exclusive(os.path.join(run, f'.eval_{bound}.lock'), ''))
    out = subprocess.run(
        [sys.executable, '-m', 'experiments.evaluate_bounds', '--datasets=jsb',
         f'--runs_dir={runs}', f'--results_dir={results}', f'--logs_dir={tmp_path / "logs"}'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
  assert out.count(f'in use by process {os.getpid()}; skipped') == len(held) == 5, out
  assert 'failed' not in out and list((tmp_path / 'logs').iterdir()) == []   # nothing ran


def test_the_familys_searches_read_the_test_split_of_one_final_run_per_emission(tmp_path):
  """The DMM's and STORN's searches choose one candidate per emission on validation; that one
  trained on to 2,000 epochs (`family_long`) is the final model, and only its bounds are
  evaluated (its training read its test ELBO): no candidate's test split is read."""
  from experiments import evaluate_bounds, selection
  from srnn_tf import configs
  runs, results = tmp_path / 'runs', tmp_path / 'results'
  results.mkdir()

  def finished(config, valid):
    name = configs.run_name(config)
    (runs / name).mkdir(parents=True)
    (runs / name / 'config.json').write_text(json.dumps(dataclasses.asdict(config)))
    (runs / name / 'model.keras').write_text('')
    record = {'config': dataclasses.asdict(config),
              'valid': {'elbo_per_step': valid, 'elbo_total_per_step': valid}}
    if config.evaluate_test:
      record['test'] = record['valid']
    (results / f'{name}.json').write_text(json.dumps(record))
    return name

  for model in ('dmm', 'storn'):
    for i, override in enumerate(sweep.GRIDS[model]):
      config = configs.get_config('paper', **{**configs.PREVIOUS_DEFAULTS, **override},
                                  dataset='muse', data_version='boulanger')
      assert selection.is_search(dataclasses.asdict(config)) and not config.evaluate_test
      finished(config, -6.0 - 0.1 * ((i + 1) % 4))   # the last of each emission's four wins
  assert evaluate_bounds.pending(str(runs), ['muse'], ['iwae'], str(results)) == []
  longs = sweep.family_long_configs(str(results), 'muse', 'boulanger')
  assert len(longs) == 4 and {c.epochs for c in longs} == {sweep.FAMILY_EPOCHS}
  assert all(configs.run_name(c).endswith('_keepbest_ep2000') for c in longs)
  names = [finished(config, -5.0) for config in longs]
  assert not any(selection.is_search(dataclasses.asdict(c)) for c in longs)
  todo = evaluate_bounds.pending(str(runs), ['muse'], ['iwae'], str(results))
  assert sorted(todo) == sorted((str(runs / name), 'iwae') for name in names)


def test_evaluate_bounds_leaves_the_candidates_validation_passed_over(tmp_path):
  """A NADE search's candidates train without reading the test split (`--noevaluate_test`);
  its test ELBO, IWAE and SMC go to the candidate validation chose (the RNN's: its exact
  ELBO alone), and the others' test split stays unread (and their hour of SMC is not
  spent). The chosen one's test ELBO then reads as its run's `test`."""
  from experiments import evaluate_bounds, published, selection
  from srnn_tf import configs
  runs, results = tmp_path / 'runs', tmp_path / 'results'
  results.mkdir()
  names = {}
  for model in ('srnn', 'rnn'):
    for dropout, valid in ((0.0, -6.2), (0.5, -6.0)):
      config = configs.get_config('paper', **{**configs.PREVIOUS_DEFAULTS, **sweep.NADE_SEARCH},
                                  dataset='muse', data_version='boulanger', model=model,
                                  dropout_d=dropout)
      assert selection.is_nade_search(dataclasses.asdict(config)) and not config.evaluate_test
      name = configs.run_name(config)
      names[model, dropout] = name
      (runs / name).mkdir(parents=True)
      (runs / name / 'config.json').write_text(json.dumps(dataclasses.asdict(config)))
      (runs / name / 'model.keras').write_text('')
      (results / f'{name}.json').write_text(json.dumps({
          'config': dataclasses.asdict(config),
          'valid': {'elbo_per_step': valid, 'elbo_total_per_step': valid}}))
  todo = evaluate_bounds.pending(str(runs), ['muse'], ['iwae', 'smc'], str(results))
  assert [(os.path.basename(r), b) for r, b in todo] == [
      (names['rnn', 0.5], 'elbo'),
      (names['srnn', 0.5], 'elbo'), (names['srnn', 0.5], 'iwae'), (names['srnn', 0.5], 'smc')]
  chosen = names['rnn', 0.5]
  (results / f'{chosen}.eval_elbo_test.json').write_text(json.dumps(
      {'bound': 'elbo', 'test': {'elbo_per_step': -5.9, 'elbo_total_per_step': -6.1}}))
  assert (runs / chosen).name not in [os.path.basename(r) for r, _ in evaluate_bounds.pending(
      str(runs), ['muse'], ['iwae', 'smc'], str(results))]
  assert published.load_run(str(results / f'{chosen}.json'))['test']['elbo_per_step'] == -5.9
  assert 'test' not in published.load_run(str(results / f'{names["rnn", 0.0]}.json'))
  # While another SRNN candidate still trains (its run directory has no model.keras yet),
  # the SRNN's search is not judged: the finished candidates may yet lose to it.
  config = configs.get_config('paper', **{**configs.PREVIOUS_DEFAULTS, **sweep.NADE_SEARCH},
                              dataset='muse', data_version='boulanger', model='srnn',
                              dropout_d=0.5, a_dim=150)
  (runs / configs.run_name(config)).mkdir()
  (runs / configs.run_name(config) / 'config.json').write_text(
      json.dumps(dataclasses.asdict(config)))
  assert [os.path.basename(r) for r, _ in evaluate_bounds.pending(
      str(runs), ['muse'], ['iwae', 'smc'], str(results))] == []


def _record(results_dir, name, elbo, kept_epoch=None, epochs_run=50, **overrides):
  from srnn_tf import configs
  config = dataclasses.asdict(configs.get_config('paper', **{**configs.PREVIOUS_DEFAULTS,
                                                              **overrides}))
  # Per-sequence mean and total/total differ (by 0.05 here), so a cell shows which it took.
  record = {'config': config, 'kept_epoch': kept_epoch,
            'valid': {'elbo_per_step': elbo + 0.2, 'elbo_total_per_step': elbo + 0.15},
            'test': {'elbo_per_step': elbo, 'elbo_total_per_step': elbo - 0.05},
            'test_leaky_first_frame': {'elbo_per_step': elbo + 0.1}}
  with open(os.path.join(results_dir, f'{name}.json'), 'w') as f:
    json.dump(record, f)
  with open(os.path.join(results_dir, f'{name}.history.csv'), 'w') as f:
    f.write('epoch,val_elbo\n' + ''.join(f'{e},-5\n' for e in range(epochs_run)))


def test_make_table_places_each_run_and_estimate(tmp_path):
  results = tmp_path / 'results'
  results.mkdir()
  _record(results, 'jsb_srnn2016_srnn_z100_d300', -5.5, dataset='jsb', data_version='srnn2016')
  _record(results, 'jsb_srnn2016_rnn_d300', -6.2, dataset='jsb', data_version='srnn2016',
          model='rnn')
  _record(results, 'piano_boulanger_vrnn_z100_d300', -7.7, dataset='piano', model='vrnn')
  # No IWAE/SMC yet: not compared with the SRNN's IWAE. Its u_1 = x_1 evaluation (-5.2,
  # other posterior noise) is not shown: the VRNN reads no input frame ("=").
  _record(results, 'jsb_srnn2016_vrnn_z100_d300', -5.3, dataset='jsb', data_version='srnn2016',
          model='vrnn')
  _record(results, 'jsb_srnn2016_srnn_long_keepbest', -4.9, kept_epoch=75, epochs_run=90,
          dataset='jsb', data_version='srnn2016', epochs=100, lr_constant_epochs=100,
          keep_best=True, early_stopping_patience=15)
  _record(results, 'nottingham_srnn2016_srnn_smoothing_noresq_z100_d300', -3.1,
          dataset='nottingham', data_version='srnn2016', resq=False)
  # FIVO training is asked on JSB and Nottingham, by SMC: its other cells are outside it.
  _record(results, 'jsb_srnn2016_srnn_fivo4_z100_d300', -7.7, dataset='jsb',
          data_version='srnn2016', objective='fivo', num_particles=4, carry_state=False)
  _record(results, 'jsb_srnn2016_srnn_nocarry_z100_d300', -5.6, dataset='jsb',
          data_version='srnn2016', carry_state=False)   # FIVO's control: a row of its own
  _record(results, 'jsb_srnn2016_srnn_z10_d300', -4.777, dataset='jsb', data_version='srnn2016',
          z_dim=10)   # a z-grid run: not a cell of the comparison (z=100) tables
  _record(results, 'jsb_srnn2016_srnn_settings_z100_d300', -4.8, dataset='jsb',
          data_version='srnn2016', learning_rate=0.003, lr_decay=1.3)   # an option run
  # Piano's RNN has the best test number but not the best validation number: the model set
  # against RNN-NADE is the VRNN, chosen on validation.
  _record(results, 'piano_boulanger_rnn_d300', -6.9, dataset='piano', model='rnn')
  # The VRNN at its best validation epoch (paper protocol, --keep_best): a row of its own.
  _record(results, 'piano_boulanger_vrnn_z100_d300_keepbest', -7.6, dataset='piano',
          model='vrnn', keep_best=True)
  for name, valid in (('piano_boulanger_rnn_d300', -9.0),
                      ('piano_boulanger_vrnn_z100_d300_keepbest', -7.6)):
    record = json.loads((results / f'{name}.json').read_text())
    record['valid']['elbo_total_per_step'] = valid
    (results / f'{name}.json').write_text(json.dumps(record))
  with open(results / 'jsb_srnn2016_srnn_z100_d300.eval_iwae_test.json', 'w') as f:
    json.dump({'test': {'log_p_per_step': -5.4, 'log_p_total_per_step': -5.2,
                        'num_particles': 100}}, f)
  with open(results / 'piano_boulanger_vrnn_z100_d300.eval_smc_test.json', 'w') as f:
    json.dump({'test': {'log_p_per_step': -7.0, 'log_p_total_per_step': -7.1,
                        'num_particles': 100}}, f)
  out = tmp_path / 'TABLE.md'
  built = subprocess.run([sys.executable, '-m', 'experiments.make_table', f'--runs={results}',
                          f'--output={out}'],
                         cwd=ROOT, capture_output=True, text=True)
  assert built.returncode == 0, built.stderr
  text = out.read_text()
  # srnn2016: per-sequence means; u_1 = x_1 stands for the release's first frames on JSB only.
  assert '| RNN | -6.200 / -6.100 | not run | not run | not run |' in text
  assert '| SRNN smooth + Resq | -5.500 / -5.400 | not run | not run | not run |' in text
  assert '| SRNN smooth, no Resq | not run | -3.100 / - | not run | not run |' in text
  assert '| VRNN | -5.300 / = | not run | not run | not run |' in text
  assert '| VRNN | not run | not run | not run | -7.750 |' in text   # Boulanger: total/total
  assert '| SRNN smooth + Resq (FIVO, K=4) | -7.700 / -7.600 | not run | n/a | n/a |' in text
  assert '| JSB | SRNN smooth + Resq (FIVO, K=4) | -7.700 | n/a | not run |  |  |' in text
  assert ('| SRNN smooth + Resq (ELBO, independent windows) | -5.600 / -5.500 | not run | n/a '
          '| n/a |') in text
  assert '| VRNN (best epoch) | not run | not run | not run | -7.650 |' in text
  assert '| Piano | VRNN (best epoch) | -7.650 | not run | not run |  |  |' in text
  assert '`piano_boulanger_vrnn_z100_d300_keepbest`' not in text   # not a longer schedule
  assert '4.777' not in text and '4.677' not in text
  assert ('| `jsb_srnn2016_srnn_settings_z100_d300` | learning_rate=0.003, lr_decay=1.3 '
          '| -4.600 | -5.300 | -4.800 / -4.700 | -5.500 / -5.400 |') in text
  assert '| JSB | SRNN smooth + Resq | -5.500 | -5.400 (K=100) | not run | +0.100 |  |' in text
  assert '| JSB | RNN | -6.200 (exact) |' in text
  assert ('| JSB | -0.200 | not run (IWAE/SMC of both) | +0.700 | +0.800 (IWAE K=100 vs exact) |'
          ) in text
  assert ('| `jsb_srnn2016_srnn_long_keepbest` | JSB, srnn2016 | 90 (75) | all | 15 '
          '| -4.900 / -4.800 | -5.500 / -5.400 |') in text
  # Against the published numbers, each in its own convention: the paper's -4.74 against the
  # release-first-frame ELBO (per sequence), RNN-NADE's -7.05 against total/total.
  assert '| JSB | -5.400 (release first frames) | -4.74 | -0.66 |' in text
  assert '| Piano | not run | -8.20 |  | -7.100 (VRNN, SMC K=100) | -7.05 | -0.05 |' in text
  with open(results / 'jsb_srnn2016_vrnn_z100_d300.eval_iwae_test.json', 'w') as f:
    json.dump({'test': {'log_p_per_step': -5.1, 'log_p_total_per_step': -5.0,
                        'num_particles': 100}}, f)
  subprocess.run(built.args, cwd=ROOT, check=True, capture_output=True)
  assert '| JSB | -0.200 | -0.300 (IWAE K=100, both) |' in out.read_text()


def test_table_takes_each_published_anchor_in_its_own_convention():
  from experiments import published
  elbo = {'elbo_per_step': -1.0, 'elbo_total_per_step': -2.0}
  bound = {'log_p_per_step': -3.0, 'log_p_total_per_step': -4.0}
  # The SRNN paper (srnn2016): per-sequence means; Boulanger et al. / RNN-NADE: total/total.
  assert published.score(elbo, 'srnn2016') == -1.0
  assert published.score(bound, 'srnn2016') == -3.0
  assert published.score(elbo, 'boulanger') == -2.0
  assert published.score(bound, 'boulanger') == -4.0
  assert set(published.CONVENTIONS) == {'srnn2016', 'boulanger'}
  run = {'config': {'dataset': 'nottingham'}, 'test_leaky_first_frame': {'elbo_per_step': -1}}
  assert published.release_first_frame(run) is None      # u_1 = x_1 is not the release's here
  run['test_release_first_frame'] = {'elbo_per_step': -0.5}
  assert published.release_first_frame(run) == -0.5
  # A VRNN reads no input frame: its release-first-frame number is its plain one, whatever an
  # evaluation with other posterior noise measured.
  vrnn = {'config': {'dataset': 'jsb', 'model': 'vrnn'}, 'test': {'elbo_per_step': -2.0},
          'test_leaky_first_frame': {'elbo_per_step': -1.9}}
  assert published.release_first_frame(vrnn) == -2.0


def test_the_models_without_inputs_are_those_that_read_none():
  """`published.WITHOUT_INPUTS` (the table's "=" cells) names exactly the model classes that
  read no `u` (`reads_inputs`; test_baselines checks that each class's numbers obey it)."""
  from experiments import published
  from srnn_tf import configs
  from srnn_tf.testing import tiny
  assert set(configs.MODELS) == set(tiny.SIZES)
  readers = {name: tiny.model(name).reads_inputs for name in tiny.SIZES}
  assert {name for name, reads in readers.items() if not reads} == set(published.WITHOUT_INPUTS)


def test_bounds_vs_k_table_averages_seeds_and_measures_the_gain(tmp_path):
  from experiments import bounds_vs_k
  cache = {bounds_vs_k.key('r', 'iwae', k, s): {'log_p_per_step': v}
           for k, s, v in [(1, 0, -5.6), (1, 1, -5.5), (100, 0, -5.4)]}
  cache[bounds_vs_k.key('r', 'smc', 100, 0)] = {'log_p_per_step': -5.3}
  assert bounds_vs_k.points(cache, 'r', 'iwae') == {1: [-5.6, -5.5], 100: [-5.4]}
  md = bounds_vs_k.markdown(cache, ['r'], ['iwae', 'smc'], {'r': -5.55})
  assert '| `r` | IWAE | -5.550 | -5.550 (±0.050) | -5.400 | +0.150 |' in md
  assert '| `r` | SMC | -5.550 | - | -5.300 | +0.250 |' in md
  bounds_vs_k.plot(str(tmp_path / 'k.png'), cache, ['r'], ['iwae', 'smc'], {'r': -5.55})
  assert (tmp_path / 'k.png').stat().st_size > 0
  # A run on the Boulanger splits reads the total / total number (every step weighted equally).
  for name in cache:
    cache[name]['log_p_total_per_step'] = cache[name]['log_p_per_step'] - 1
  md = bounds_vs_k.markdown(cache, ['r'], ['iwae', 'smc'], {'r': -6.55},
                            {'r': bounds_vs_k.FIELDS['per_step']})
  assert '| `r` | SMC | -6.550 | - | -6.300 | +0.250 |' in md
  assert 'every test time step weighted equally' in md and 'mean over sequences' not in md


def test_a_sweep_writes_the_hparams_view_of_what_it_varies(tmp_path):
  import tensorflow as tf
  from srnn_tf import hparams
  runs = sweep.plan(['z', 'd'], ['jsb', 'piano'], 'srnn2016')
  varied = sweep.varied_fields([run.config for run in runs])
  assert varied == ['dataset', 'z_dim', 'd_dim']
  # A second sweep's columns replace the first's: one view per runs folder.
  hparams.write_hparams_config(str(tmp_path), ['dataset', 'model'])
  hparams.write_hparams_config(str(tmp_path), varied)
  (path,) = tmp_path.glob('events.out.tfevents.*')
  from tensorboard.plugins.hparams import plugin_data_pb2
  experiments = [plugin_data_pb2.HParamsPluginData.FromString(
      v.metadata.plugin_data.content).experiment
      for e in tf.compat.v1.train.summary_iterator(str(path)) for v in e.summary.value
      if v.metadata.plugin_data.plugin_name == 'hparams']
  (experiment,) = experiments
  assert [h.name for h in experiment.hparam_infos] == ['dataset', 'z_dim', 'd_dim']
  assert {(m.name.group, m.name.tag) for m in experiment.metric_infos} == {
      ('validation', 'epoch_elbo'), ('train', 'epoch_elbo')}
  # The view of a folder that already holds another sweep's run has that sweep's columns too.
  vrnn = dataclasses.replace(runs[0].config, model='vrnn')
  os.makedirs(tmp_path / 'other_run')
  (tmp_path / 'other_run' / 'config.json').write_text(json.dumps(dataclasses.asdict(vrnn)))
  sweep._write_hparams_view(runs, str(tmp_path))
  (path,) = tmp_path.glob('events.out.tfevents.*')
  (experiment,) = [plugin_data_pb2.HParamsPluginData.FromString(
      v.metadata.plugin_data.content).experiment
      for e in tf.compat.v1.train.summary_iterator(str(path)) for v in e.summary.value]
  assert [h.name for h in experiment.hparam_infos] == ['dataset', 'model', 'z_dim', 'd_dim']


def test_the_hparams_view_survives_a_sweep_in_another_lane(tmp_path, monkeypatch):
  """Two lanes' sweeps share one runs folder: an events file listed by one may be gone, removed
  by the other, before it is read."""
  from srnn_tf import hparams
  listed = hparams.glob.glob
  gone = str(tmp_path / 'events.out.tfevents.1.removed_by_the_other_lane')
  monkeypatch.setattr(hparams.glob, 'glob', lambda pattern: [gone] + listed(pattern))
  hparams.write_hparams_config(str(tmp_path), ['dataset'])
  hparams.write_hparams_config(str(tmp_path), ['dataset', 'model'])
  assert len(listed(str(tmp_path / 'events.out.tfevents.*'))) == 1


def test_nade_table_chooses_on_validation_and_reports_its_cost(tmp_path):
  from experiments import sweep as grids
  results = tmp_path / 'results'
  results.mkdir()
  search = {**grids.NADE_SEARCH, 'dataset': 'jsb', 'data_version': 'boulanger'}
  # Two RNN-NADE candidates: the d=150 run has the better validation number (-6.85 against
  # -6.95 total/total), so it is bold and the only one whose test number is shown.
  for name, elbo, d in (('jsb_boulanger_rnn_nade150_d300_keepbest', -7.1, 300),
                        ('jsb_boulanger_rnn_nade150_d150_keepbest', -7.0, 150)):
    _record(results, name, elbo, kept_epoch=3, model='rnn', d_dim=d, **search)
    with open(results / f'{name}.json') as f:
      record = json.load(f)
    with open(results / f'{name}.json', 'w') as f:
      json.dump({**record, 'parameters': 1000 * d, 'steps_per_epoch': 9}, f)
    # 9 batches of 16 x 100 frames at a median 240 steps/s: 60 s per epoch, 3 min per run;
    # the third epoch's low rate is a pause (kill -STOP), which the minutes leave out.
    with open(results / f'{name}.history.csv', 'w') as f:
      f.write('epoch,val_elbo,steps_per_sec\n0,-7,240\n1,-7,240\n2,-7,2.4\n')
  # One VRNN-NADE and one SRNN-NADE, each with its SMC estimate: the section then answers
  # whether the SRNN's chain helps, from each model's tightest number in Boulanger's convention.
  for name, model, smc in (('jsb_boulanger_vrnn_nade150_z100_d300_keepbest', 'vrnn', -6.9),
                           ('jsb_boulanger_srnn_nade150_z100_d300_keepbest', 'srnn', -6.8)):
    _record(results, name, -7.2, kept_epoch=3, model=model, **search)
    with open(results / f'{name}.json') as f:
      record = json.load(f)
    with open(results / f'{name}.json', 'w') as f:
      json.dump({**record, 'parameters': 5, 'steps_per_epoch': 9}, f)
    with open(results / f'{name}.history.csv', 'w') as f:
      f.write('epoch,val_elbo,steps_per_sec\n0,-7,240\n')
    with open(results / f'{name}.eval_smc_test.json', 'w') as f:
      json.dump({'test': {'log_p_per_step': smc + 0.1, 'log_p_total_per_step': smc,
                          'num_particles': 100}}, f)
  # On srnn2016 the per-sequence numbers, beside the SRNN paper's.
  name = 'jsb_srnn2016_rnn_nade150_d150_keepbest'
  _record(results, name, -4.5, kept_epoch=3, model='rnn', d_dim=150,
          **{**search, 'data_version': 'srnn2016'})
  record = json.loads((results / f'{name}.json').read_text())
  (results / f'{name}.json').write_text(json.dumps({**record, 'parameters': 7,
                                                    'steps_per_epoch': 9}))
  (results / f'{name}.history.csv').write_text(
      'epoch,val_elbo,steps_per_sec\n' + ''.join(f'{e},-4.4,240\n' for e in range(5)))
  # Replicates of the chosen runs at seeds 1 and 2 (`sweep --grid=nade_chosen --seeds=1,2`):
  # never candidates (the RNN's first validates far better than every candidate, and the
  # choice above stands), and their spread gets its own section.
  for model, chosen, tests in (
      ('rnn', 'jsb_boulanger_rnn_nade150_d150_keepbest', (-7.0, -7.2)),
      ('vrnn', 'jsb_boulanger_vrnn_nade150_z100_d300_keepbest', (-6.9, -7.0)),
      ('srnn', 'jsb_boulanger_srnn_nade150_z100_d300_keepbest', (-6.8, -6.9))):
    for seed, value in zip((1, 2), tests):
      name = f'{chosen}_seed{seed}'
      _record(results, name, value + (0.05 if model == 'rnn' else -1.0), kept_epoch=3,
              model=model, seed=seed, **{**search, 'd_dim': 150 if model == 'rnn' else 300})
      record = json.loads((results / f'{name}.json').read_text())
      record['valid'] = {'elbo_per_step': 0.0, 'elbo_total_per_step': 0.0}
      (results / f'{name}.json').write_text(json.dumps(record))
      if model != 'rnn':
        (results / f'{name}.eval_smc_test.json').write_text(json.dumps(
            {'test': {'log_p_per_step': value + 0.1, 'log_p_total_per_step': value,
                      'num_particles': 100}}))
  out = tmp_path / 'TABLE.md'
  subprocess.run([sys.executable, '-m', 'experiments.make_table', f'--runs={results}',
                  f'--output={out}'], cwd=ROOT, check=True, capture_output=True)
  text = out.read_text()
  assert '| -7.250 | -6.900 (K=100) | -5.19 |' in text   # the VRNN's test ELBO, then its SMC
  srnn2016 = text[text.index('## NADE emissions on the srnn2016 data'):]
  assert '| SRNN paper published |' in srnn2016
  assert 'framed differently, and no pair of Boulanger candidates with and without' in srnn2016
  assert '| JSB | RNN-NADE | 150 | 500x500 / 500 | 0 / 0 | no | 7 | 5 (3) | 5 | **-4.300** | -4.500 | = (exact) | -4.74 |' \
      in srnn2016
  assert '| Piano | SRNN-NADE | | | | | | | | not run | | | -8.20 |' in srnn2016
  assert ('- JSB: SRNN-NADE -6.800 (SMC), VRNN-NADE -6.900 (SMC), RNN-NADE -7.050 (exact): '
          'the SRNN\'s chain ahead of the better of the other two by 0.100 nats per frame; '
          'SRNN-NADE below the published RNN-NADE (-5.19) by 1.610.') in text
  assert '| JSB | RNN-NADE | 150 | 500x500 / 500 | 0 / 0 | no | 150,000 | 3 (3) | 3 | **-6.850** | -7.050 | = (exact) | -5.19 |' \
      in text
  assert '| JSB | RNN-NADE | 300 | 500x500 / 500 | 0 / 0 | no | 300,000 | 3 (3) | 3 | -6.950 |  |  | -5.19 |' in text
  assert '| Piano | SRNN-NADE | | | | | | | | not run | | | -7.05 |' in text
  spread = text[text.index('## NADE emissions: the spread over seeds (Boulanger splits)'):]
  assert '| JSB | RNN-NADE | -7.050 (exact) | -7.000 (exact) | -7.200 (exact) | -7.100 ± 0.141 (n=2) |' \
      in spread
  assert '| JSB | SRNN-NADE | -6.800 (K=100) | -6.800 (K=100) | -6.900 (K=100) | -6.850 ± 0.071 (n=2) |' \
      in spread
  assert ('- JSB: over the replicates, the SRNN-NADE ahead of the VRNN-NADE (the better of the '
          'other two) by 0.100 nats per frame, ± 0.071') in spread
  assert '_seed' not in text[:text.index('## NADE emissions: the spread over seeds')]


def test_selection_chooses_each_models_run_on_validation_in_the_versions_convention(tmp_path):
  from experiments import selection
  from experiments import sweep as grids
  results, runs = tmp_path / 'results', tmp_path / 'runs'
  results.mkdir()
  search = {**grids.NADE_SEARCH, 'dataset': 'jsb', 'data_version': 'boulanger'}

  def candidate(name, model, valid_per_sequence, valid_total, test, weights=True, **config):
    _record(results, name, test, kept_epoch=3, model=model, **search, **config)
    record = json.loads((results / f'{name}.json').read_text())
    record['valid'] = {'elbo_per_step': valid_per_sequence, 'elbo_total_per_step': valid_total}
    (results / f'{name}.json').write_text(json.dumps(record))
    if weights:
      (runs / name).mkdir(parents=True)
      (runs / name / 'model.keras').write_text('')

  # The two conventions disagree on the RNN's pair: Boulanger's (total / total) decides, and
  # the candidate with the better test number is not chosen.
  candidate('jsb_boulanger_rnn_nade150_d300_keepbest', 'rnn', -5.0, -6.0, -4.0, d_dim=300)
  candidate('jsb_boulanger_rnn_nade150_d150_keepbest', 'rnn', -6.0, -5.5, -7.0, d_dim=150)
  candidate('jsb_boulanger_vrnn_nade150_z100_d300_keepbest', 'vrnn', -5.0, -5.0, -5.0)
  with pytest.raises(LookupError, match='no finished SRNN-NADE candidate of jsb'):
    selection.chosen_run_dirs(str(results), str(runs), 'jsb', 'boulanger')
  candidate('jsb_boulanger_srnn_nade150_z100_d300_keepbest', 'srnn', -5.0, -5.0, -5.0,
            weights=False)
  with pytest.raises(LookupError, match='srnn_nade150_z100_d300_keepbest: the chosen '
                                        'SRNN-NADE\'s weights are not here'):
    selection.chosen_run_dirs(str(results), str(runs), 'jsb', 'boulanger')
  assert [os.path.basename(d) for d in selection.chosen_run_dirs(   # those here, for samples
      str(results), str(runs), 'jsb', 'boulanger', present_only=True)] == [
          'jsb_boulanger_rnn_nade150_d150_keepbest',
          'jsb_boulanger_vrnn_nade150_z100_d300_keepbest']
  (runs / 'jsb_boulanger_srnn_nade150_z100_d300_keepbest').mkdir()
  (runs / 'jsb_boulanger_srnn_nade150_z100_d300_keepbest' / 'model.keras').write_text('')
  assert [os.path.basename(d) for d in selection.chosen_run_dirs(
      str(results), str(runs), 'jsb', 'boulanger')] == [
          'jsb_boulanger_rnn_nade150_d150_keepbest',
          'jsb_boulanger_vrnn_nade150_z100_d300_keepbest',
          'jsb_boulanger_srnn_nade150_z100_d300_keepbest']
  # The workflow's record of the choice (its `choose` checkpoint): the same runs, each with
  # its search's candidates in the version's convention; --group keeps one search group.
  chosen = selection.choices(str(results), 'jsb', 'boulanger', selection.MODELS)
  assert {k: v['chosen'] for k, v in chosen.items()} == {
      'rnn/nade': 'jsb_boulanger_rnn_nade150_d150_keepbest',
      'vrnn/nade': 'jsb_boulanger_vrnn_nade150_z100_d300_keepbest',
      'srnn/nade': 'jsb_boulanger_srnn_nade150_z100_d300_keepbest'}
  assert chosen['rnn/nade']['candidates'] == {'jsb_boulanger_rnn_nade150_d300_keepbest': -6.0,
                                              'jsb_boulanger_rnn_nade150_d150_keepbest': -5.5}
  assert selection.choices(str(results), 'jsb', 'boulanger', ('dmm',)) == {}
  # Another SRNN candidate still training (a run directory without its model.keras): the
  # SRNN-NADE is not chosen yet, so its samples are not studied either.
  training = runs / 'jsb_boulanger_srnn_nade150_a150_z100_d300_keepbest'
  training.mkdir()
  (training / 'config.json').write_text(json.dumps(json.loads(
      (results / 'jsb_boulanger_srnn_nade150_z100_d300_keepbest.json').read_text())['config']))
  assert selection.searches_in_training(str(runs)) == {('jsb', 'srnn', 'nade', 'boulanger')}
  with pytest.raises(LookupError, match=r'the SRNN-NADE search of jsb \(boulanger\) still '
                                        'trains a candidate'):
    selection.chosen_run_dirs(str(results), str(runs), 'jsb', 'boulanger')
  assert len(selection.chosen_run_dirs(str(results), str(runs), 'jsb', 'boulanger',
                                       present_only=True)) == 2
  (training / 'model.keras').write_text('')   # finished (its results JSON not copied here)
  printed = subprocess.run([sys.executable, '-m', 'experiments.selection', '--dataset=jsb',
                            f'--results={results}', f'--runs_dir={runs}'], cwd=ROOT,
                           capture_output=True, text=True)
  assert printed.returncode == 0, printed.stderr
  chosen_rnn = runs / 'jsb_boulanger_rnn_nade150_d150_keepbest'
  assert printed.stdout.strip().split(',')[0] == str(chosen_rnn)
  missing = subprocess.run([sys.executable, '-m', 'experiments.selection', '--dataset=piano',
                            f'--results={results}', f'--runs_dir={runs}'], cwd=ROOT,
                           capture_output=True, text=True)
  assert missing.returncode == 1
  assert missing.stderr.strip().splitlines() == [
      f'error: no finished RNN-NADE candidate of piano (boulanger) in {results}']
  # Dropout against its twin without it, in the convention's number (total / total): one
  # pair won (the RNN's at d = 150), one lost (the SRNN's); a dropout run without a twin
  # (the VRNN's) and runs of another version count for nothing.
  assert selection.dropout_margins(str(results)) == []
  candidate('jsb_boulanger_rnn_nade150_dropd0.5u0.2_d150_keepbest', 'rnn', -9.0, -5.25, -9.0,
            d_dim=150, dropout_d=0.5, dropout_emb_u=0.2)
  candidate('jsb_boulanger_srnn_nade150_dropd0.5_z100_d300_keepbest', 'srnn', -1.0, -5.5,
            -9.0, dropout_d=0.5)
  candidate('jsb_boulanger_vrnn_nade150_dropd0.5_z100_d150_keepbest', 'vrnn', -1.0, -1.0,
            -9.0, dropout_d=0.5, d_dim=150)
  assert sorted(selection.dropout_margins(str(results))) == pytest.approx([-0.5, 0.25])
  assert selection.dropout_margins(str(results), 'srnn2016') == []
  # The chosen runs' replicates at other seeds: the same configs, the test split read.
  planned = grids.plan(['nade_chosen'], ['jsb'], 'boulanger', ['0', '2'], str(results))
  assert [run.name for run in planned] == [
      'jsb_boulanger_rnn_nade150_dropd0.5u0.2_d150_keepbest',
      'jsb_boulanger_rnn_nade150_dropd0.5u0.2_d150_keepbest_seed2',
      'jsb_boulanger_vrnn_nade150_dropd0.5_z100_d150_keepbest',
      'jsb_boulanger_vrnn_nade150_dropd0.5_z100_d150_keepbest_seed2',
      'jsb_boulanger_srnn_nade150_z100_d300_keepbest',
      'jsb_boulanger_srnn_nade150_z100_d300_keepbest_seed2']
  assert '--seed=2' in planned[1].args and '--noevaluate_test' not in planned[1].args
  assert all(run.config.evaluate_test for run in planned)
  # Transposition augmentation: the chosen RNN-NADE and VRNN-NADE at two shifts, as
  # candidates of their own experiment, which does not enter the NADE comparison's choice.
  augmented = grids.plan(['nade_augment'], ['jsb'], 'boulanger', ['0'], str(results))
  assert [run.name for run in augmented] == [
      'jsb_boulanger_rnn_nade150_dropd0.5u0.2_tr2_d150_keepbest',
      'jsb_boulanger_rnn_nade150_dropd0.5u0.2_tr6_d150_keepbest',
      'jsb_boulanger_vrnn_nade150_dropd0.5_tr2_z100_d150_keepbest',
      'jsb_boulanger_vrnn_nade150_dropd0.5_tr6_z100_d150_keepbest']
  assert all('--noevaluate_test' in run.args for run in augmented)
  assert '--transpose_augment=6' in augmented[1].args
  assert not selection.is_nade_search(dataclasses.asdict(augmented[0].config))


def _tiny_rnn_run(run):
  """A run directory of a tiny untrained RNN on Boulanger JSB: `model.keras`, `config.json`."""
  from srnn_tf import configs
  from srnn_tf.testing import tiny
  run.mkdir(parents=True)
  model = tiny.model('rnn')
  model.build()
  model.save(run / 'model.keras')
  config = configs.get_config('small', dataset='jsb', data_version='boulanger', model='rnn')
  (run / 'config.json').write_text(json.dumps(dataclasses.asdict(config)))


def test_sample_stats_adds_the_rows_of_an_earlier_output_against_the_same_pieces(
    tmp_path, data_dir):
  import numpy as np
  from srnn_tf import music_stats
  from srnn_tf.data import corpus as corpus_lib
  test = [np.asarray(r) for r in
          corpus_lib.load_corpus('jsb', 'boulanger', str(data_dir)).splits['test']]

  def row(stats, first):
    return {'frames': stats.frames, 'repetition': stats.repetition, 'first_frame_notes': first,
            'histograms': {k: getattr(stats, k).tolist()
                           for k in ('polyphony', 'pitch', 'pitch_class', 'duration')}}

  # An earlier output: the held-out row, then a "model" whose samples are 2 x 32 frames of
  # chords drawn at random.
  sample = (np.random.default_rng(0).random((2, 32, 88)) < 0.05).astype(np.uint8)
  sampled = music_stats.roll_stats(list(sample))
  earlier = tmp_path / 'earlier.json'
  earlier.write_text(json.dumps({'held-out (test)': row(music_stats.roll_stats(test), 4.0),
                                 'RNN': {**row(sampled, 1.5), 'run': 'jsb_boulanger_rnn_d300'},
                                 'VRNN': row(sampled, 2.5)}))

  def sample_stats(*flags):
    return subprocess.run(
        [sys.executable, '-m', 'experiments.sample_stats', '--dataset=jsb',
         '--data_version=boulanger', f'--data_dir={data_dir}', f'--include={earlier}',
         f'--output={tmp_path / "out"}', *flags], cwd=ROOT, capture_output=True, text=True)

  merged = sample_stats('--num_pieces=2', '--num_steps=32', '--leave_out=VRNN')
  assert merged.returncode == 0, merged.stderr
  out = json.loads((tmp_path / 'out.json').read_text())
  assert list(out) == ['held-out (test)', 'RNN']      # VRNN: left out
  expected = music_stats.compare(sampled, music_stats.roll_stats(test))
  assert out['RNN']['tv_polyphony'] == pytest.approx(expected['tv_polyphony'], abs=1e-12)
  assert out['RNN']['repetition'] == pytest.approx(sampled.repetition)
  assert '| RNN | 64 |' in (tmp_path / 'out.md').read_text()
  # Which run each row sampled travels with the row.
  assert out['RNN']['run'] == 'jsb_boulanger_rnn_d300' and 'run' not in out['held-out (test)']
  assert 'Runs: RNN: `jsb_boulanger_rnn_d300`' in (tmp_path / 'out.md').read_text()

  # A run's row replaces the included row of its label (a model chosen anew).
  run = tmp_path / 'runs' / 'jsb_boulanger_rnn_d16'
  _tiny_rnn_run(run)
  # With a second sampling temperature, the run gives a row per temperature.
  replaced = sample_stats('--num_pieces=2', '--num_steps=32', f'--runs={run}',
                          '--temperatures=1,0.5')
  assert replaced.returncode == 0, replaced.stderr
  out = json.loads((tmp_path / 'out.json').read_text())
  assert list(out) == ['held-out (test)', 'VRNN', 'RNN', 'RNN, T=0.5']
  assert out['RNN']['run'] == out['RNN, T=0.5']['run'] == 'jsb_boulanger_rnn_d16'
  assert out['RNN']['frames'] == 64
  assert out['RNN']['tv_polyphony'] != pytest.approx(expected['tv_polyphony'])
  assert out['RNN, T=0.5']['histograms'] != out['RNN']['histograms']
  cold = sample_stats('--num_pieces=2', '--num_steps=32', f'--runs={run}', '--temperatures=0')
  assert cold.stderr.strip() == 'error: --temperatures=0: give positive numbers, e.g. 1,0.5'

  unknown = sample_stats('--num_pieces=2', '--num_steps=32', '--leave_out=SRNN')
  assert unknown.stderr.strip() == 'error: --leave_out=SRNN: no such row in --include'
  other_length = sample_stats('--num_pieces=2', '--num_steps=33')
  assert other_length.returncode == 1
  assert other_length.stderr.strip() == (
      f'error: {earlier}: RNN sampled 64 frames, not 66 (--num_pieces x --num_steps)')
  other_split = sample_stats('--num_pieces=2', '--num_steps=32', '--split=valid')
  assert other_split.returncode == 1
  assert other_split.stderr.strip().startswith(
      f'error: {earlier}: its statistics are against other held-out pieces')


@pytest.mark.parametrize('name', ['rnn', 'rnn_nade'])
def test_repetition_probe_is_the_probability_of_the_previous_frame(name):
  """The probe's `P(x_t = x_{t-1} | x_{<t})` against each key's conditional probability from
  `reconstruct` (another code path: for a NADE, the key-by-key conditionals given the lower
  keys) multiplied over the 88 keys of the previous frame."""
  import numpy as np
  from experiments import repetition
  from srnn_tf.testing import tiny
  model = tiny.model(name)
  model.build()
  rng = np.random.default_rng(0)
  roll = (rng.random((7, 88)) < 0.05).astype(np.float32)
  roll[3] = roll[2]                                   # one repeat among six transitions
  previous = np.pad(roll[:-1], [(1, 0), (0, 0)])[None]
  keys = model.reconstruct({'x': previous, 'u': previous}).numpy()[0]   # [T, 88]
  oracle = np.prod(np.where(previous[0] > 0, keys, 1 - keys), axis=-1)[1:]
  np.testing.assert_allclose(repetition.repeat_probabilities(model, roll), oracle, rtol=1e-4)
  result = repetition.probe(model, [roll, roll[:4]])
  assert result['frames'] == 6 + 3
  assert result['repeated_share'] == pytest.approx(2 / 9)
  assert result['mean_repeat_probability'] == pytest.approx(
      (oracle.sum() + oracle[:3].sum()) / 9, rel=1e-4)
  assert result['on_repeated_frames'] == pytest.approx(oracle[2], rel=1e-4)
  # Per phase of the frame index (t = 1 .. 6 of the long piece, 1 .. 3 of the short one):
  # the repeat (t = 3) falls on the odd phase.
  phases = repetition.probe(model, [roll, roll[:4]], period=2)['by_phase']
  assert [(ph['phase'], ph['frames'], ph['repeated_share']) for ph in phases] == [
      (0, 4, 0.0), (1, 5, pytest.approx(2 / 5))]
  assert phases[0]['mean_repeat_probability'] == pytest.approx(
      (oracle[1] + oracle[3] + oracle[5] + oracle[1]) / 4, rel=1e-4)
  # The data alone: the same counts, and one of the two pieces (7 and 4 frames) a whole
  # number of 2-frame periods long.
  data = repetition.data_summary([roll, roll[:4]], period=2)
  assert (data['frames'], data['repeated_share'], data['whole_periods']) == (
      9, pytest.approx(2 / 9), 0.5)
  assert [(ph['phase'], ph['frames'], ph['repeated_share']) for ph in data['by_phase']] == [
      (ph['phase'], ph['frames'], ph['repeated_share']) for ph in phases]


def test_family_table_reads_the_chosen_candidate_beside_krishnan(tmp_path):
  """The DMM/STORN section: per corpus, model and emission the validation choice among its
  candidates, only its test numbers (ELBO, IWAE, SMC, both conventions), Krishnan et al.'s
  numbers beside; a search not started says so."""
  from srnn_tf import configs

  def candidate(name, valid, test=None, **overrides):
    config = dataclasses.asdict(configs.get_config(
        'dmm', **{'dataset': 'jsb', 'data_version': 'boulanger', **overrides}))
    run = {'config': config, 'valid': {'elbo_per_step': valid - 0.1,
                                       'elbo_total_per_step': valid},
           'parameters': 1000, 'kept_epoch': 3, 'epochs_trained': 5, 'steps_per_epoch': 9,
           'train_steps_per_sec_median': 1000.0}
    if test is not None:
      run['test'] = {'elbo_per_step': test - 0.1, 'elbo_total_per_step': test}
    (tmp_path / f'{name}.json').write_text(json.dumps(run))
    (tmp_path / f'{name}.history.csv').write_text(
        'epoch,steps_per_sec\n' + ''.join(f'{e},1000\n' for e in range(5)))
    return tmp_path / f'{name}.json'

  candidate('jsb_dmm_a', -7.0, a_dim=300)
  chosen = candidate('jsb_dmm_b', -6.5)
  final = candidate('jsb_dmm_b_ep2000', -6.45, test=-6.6, epochs=2000, lr_constant_epochs=2000)
  (tmp_path / 'jsb_dmm_b_ep2000.eval_smc_test.json').write_text(json.dumps(
      {'test': {'log_p_total_per_step': -6.4, 'log_p_per_step': -6.3}}))
  candidate('piano_dmm_a', -7.5, dataset='piano')    # chosen, not yet trained on
  out = tmp_path / 'out' / 'TABLE.md'
  out.parent.mkdir()
  # In a process of its own: make_table's flags would clash with make_report's here.
  built = subprocess.run([sys.executable, '-m', 'experiments.make_table', f'--runs={tmp_path}',
                          f'--output={out}'], cwd=ROOT, capture_output=True, text=True)
  assert built.returncode == 0, built.stderr[-3000:]
  text = out.read_text()
  body = text[text.index('## The rest of the family'):]
  body = body[:body.index('\n## ', 1)]
  row = next(line for line in body.splitlines() if line.startswith('| JSB | DMM-Aug. |'))
  assert '| 2 | -6.500 (jsb_dmm_b) |' in row and '| -6.450 |' in row
  assert '-6.600 (-6.700)' in row and '-6.400 (-6.300)' in row
  assert '-6.288 / -6.773 (-6.692)' in row
  assert row.count('not run') == 1   # the IWAE, not measured
  piano = next(line for line in body.splitlines() if line.startswith('| Piano | DMM-Aug. |'))
  assert '| 1 | -7.500 (piano_dmm_a) | not run |' in piano
  assert '| Piano | DMM-Aug.-NADE | 0 |' in body
  rows = [line for line in body.splitlines() if line.startswith('|')]
  assert len({row.count('|') for row in rows}) == 1, rows     # every row has every column
  assert chosen.name in body and final.name in body
