"""End to end: train + evaluate on real JSB, resume after a kill, determinism, NaN guard,
`.keras` round trip."""

import csv
import glob
import io
import json
import os
import pathlib
import subprocess
import sys
import wave

import keras
import numpy as np
import pretty_midi
import pytest
import tensorflow as tf

from srnn_tf import callbacks, configs, finished, schedules, trainer
from srnn_tf.errors import NonFiniteLossError
from srnn_tf.data import midi
from srnn_tf.data import pipeline
from srnn_tf.models import SRNN, standardize_features

ROOT = pathlib.Path(__file__).resolve().parents[1]
UNTRAINED_ELBO = -88 * np.log(2.0)   # about what a model at initialisation scores per frame


def _small(data_dir, **kw):
  """The small preset without the SavedModel export (the session's run has one, and the
  export tests theirs)."""
  return configs.get_config('small', data_dir=str(data_dir), **{'saved_model': False, **kw})


def _history(workdir):
  with open(os.path.join(workdir, 'history.csv')) as f:
    return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def trained_run(small_run):
  """The session's small srnn2016 JSB run (conftest.py): `(workdir, summary)`."""
  workdir, _, summary = small_run
  return workdir, summary


def _events(folder):
  """Every summary value in a TensorBoard folder's event files: [(tag, plugin, value)]."""
  out = []
  for path in glob.glob(os.path.join(folder, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        out.append((value.tag, value.metadata.plugin_data.plugin_name, value))
  return out


def test_tensorboard_holds_piano_roll_images_and_the_runs_hparams(trained_run):
  workdir, _ = trained_run
  media = {tag: value for tag, plugin, value in _events(os.path.join(workdir, 'tensorboard',
                                                                      'media'))
           if plugin == 'images'}
  assert set(media) == {'sample', 'reconstruction'}
  for tag, value in media.items():
    width, height, png = tf.make_ndarray(value.tensor)[:3]
    image = tf.io.decode_png(png).numpy()
    assert image.shape == (int(height), int(width), 1), tag
  # Two panels (the piece and its reconstruction) of 88 keys, 2 pixels each, and a line.
  height = int(tf.make_ndarray(media['reconstruction'].tensor)[1])
  assert height == 2 * (88 + 88 + 1)
  # The sample as one WAV clip for the audio plugin, where fluidsynth can render it.
  from srnn_tf import audio
  clips = [(tag, v) for tag, plugin, v in _events(os.path.join(workdir, 'tensorboard', 'media'))
           if plugin == 'audio']
  if audio.unavailable_reason() is None:
    ((tag, value),) = clips
    (wav, label), = tf.make_ndarray(value.tensor)
    with wave.open(io.BytesIO(wav)) as clip:
      assert (tag, label, clip.getframerate()) == ('sample', b'', 22050)
      assert clip.getnframes() > 22050     # seconds of music, not an empty file
  else:
    assert clips == []
  hparams = [v for _, plugin, v in _events(os.path.join(workdir, 'tensorboard'))
             if plugin == 'hparams']
  assert hparams, 'no HParams session in the run\'s TensorBoard folder'
  from tensorboard.plugins.hparams import plugin_data_pb2
  data = plugin_data_pb2.HParamsPluginData.FromString(hparams[0].metadata.plugin_data.content)
  assert data.session_start_info.hparams['z_dim'].number_value == 4
  assert data.session_start_info.hparams['dataset'].string_value == 'jsb'


def test_train_and_evaluate_on_real_jsb(trained_run):
  workdir, summary = trained_run
  for name in ('model.keras', 'saved_model/saved_model.pb', 'saved_model/metadata.json',
               'history.csv', 'run.json', 'config.json', 'backup'):
    assert os.path.exists(os.path.join(workdir, name)), name
  assert len(_history(workdir)) == 2
  test = summary['test']
  assert test['sequences'] == 77 and test['frames'] == 9396    # srnn2016 JSB test split
  # Two short epochs of a tiny model already beat an untrained one (about -61 per frame)
  # by far (about -42 here).
  assert UNTRAINED_ELBO + 10 < test['elbo_per_step'] < 0
  assert test['recon_per_step'] > 0 and test['kl_per_step'] >= 0
  np.testing.assert_allclose(test['elbo_per_step'],
                             -test['recon_per_step'] - test['kl_per_step'], rtol=1e-6)
  # The srnn2016 release: also evaluated from its own first input frames (JSB's are the first
  # target frames), as the paper's numbers were.
  release = summary['test_release_first_frame']
  assert release['sequences'] == 77 and release['elbo_per_step'] != test['elbo_per_step']
  with open(os.path.join(workdir, 'run.json')) as f:
    recorded = json.load(f)
  assert recorded['test'] == test
  with open(os.path.join(workdir, 'saved_model', 'metadata.json')) as f:
    assert json.load(f)['grid'] == recorded['grid']    # one grid, in both records


def test_finished_run_is_not_retrained(small_run):
  workdir, config, summary = small_run
  mtime = os.path.getmtime(os.path.join(workdir, 'model.keras'))
  again = trainer.train_and_evaluate(config, workdir, verbose=0)
  assert again['test'] == summary['test']
  assert os.path.getmtime(os.path.join(workdir, 'model.keras')) == mtime


def test_eval_script_reports_the_runs_own_test_number(trained_run, tmp_path):
  """eval.py and the end of train.py evaluate with one function and one seeding rule: the
  same run, split and samples give the same number, to the last digit, both ways; from the
  release's first input frames too."""
  workdir, summary = trained_run
  config = summary['config']
  numbers = {}
  for flags in (['--splits=valid,test'], ['--splits=test', '--release_first_frame']):
    out = tmp_path / 'eval.json'
    result = subprocess.run(
        [sys.executable, 'eval.py', f'--run={workdir}', f'--num_samples={config["eval_samples"]}',
         f'--batch_size={config["batch_size"]}', f'--output={out}', *flags], cwd=ROOT,
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    numbers[flags[-1]] = json.loads(out.read_text())
  for split in ('valid', 'test'):
    for convention in ('elbo_per_step', 'elbo_total_per_step'):
      assert numbers['--splits=valid,test'][split][convention] == summary[split][convention]
  assert numbers['--release_first_frame']['test']['elbo_per_step'] == \
      summary['test_release_first_frame']['elbo_per_step']


def test_eval_script_smc_bound_is_above_the_elbo(trained_run, tmp_path):
  workdir, summary = trained_run
  out = tmp_path / 'smc.json'
  result = subprocess.run(
      [sys.executable, 'eval.py', f'--run={workdir}', '--splits=test', '--bound=smc',
       '--num_particles=16', f'--output={out}'], cwd=ROOT, capture_output=True, text=True,
      timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  test = json.loads(out.read_text())['test']
  assert test['bound'] == 'smc' and test['num_particles'] == 16 and test['seconds'] > 0
  assert test['log_p_per_step'] > summary['test']['elbo_per_step']


def test_keras_file_round_trip(trained_run):
  workdir, _ = trained_run
  run = finished.load_run(workdir)
  model, config = run.model, run.config
  assert isinstance(model, SRNN) and config.z_dim == model.z_dim
  again = keras.saving.load_model(os.path.join(workdir, 'model.keras'), compile=False)
  f = standardize_features((np.random.default_rng(0).random((2, 30, 88)) < 0.1)
                           .astype(np.float32))
  noise = np.random.default_rng(1).normal(size=(2, 30, model.z_dim)).astype(np.float32)
  a, b = model.compute_terms(f, noise=noise), again.compute_terms(f, noise=noise)
  np.testing.assert_array_equal(a['log_px'].numpy(), b['log_px'].numpy())
  np.testing.assert_array_equal(a['kl'].numpy(), b['kl'].numpy())


def test_monitor_test_logs_the_test_elbo_and_wall_time_per_epoch(data_dir, tmp_path):
  config = _small(data_dir, dataset='jsb', data_version='srnn2016', epochs=2,
                  monitor_test=True)
  summary = trainer.train_and_evaluate(config, str(tmp_path / 'run'), verbose=0)
  assert not (tmp_path / 'run' / 'saved_model').exists()   # --nosaved_model
  rows = _history(tmp_path / 'run')
  assert [float(r['wall_seconds']) > 0 for r in rows] == [True, True]
  assert float(rows[1]['wall_seconds']) > float(rows[0]['wall_seconds'])
  # The last epoch's entry is the final model's test ELBO, up to the posterior noise.
  assert float(rows[1]['test_elbo']) > float(rows[0]['test_elbo'])
  assert abs(float(rows[1]['test_elbo']) - summary['test']['elbo_per_step']) < 0.5


def test_keep_best_keeps_the_epoch_with_the_best_validation_elbo(small_run):
  workdir, config, summary = small_run
  val = [float(r['val_elbo']) for r in _history(workdir)]
  assert summary['kept_epoch'] == int(np.argmax(val)) + 1
  saved = finished.load_run(workdir).model
  best = trainer.build_model(config, 1)
  best.optimizer.build(best.trainable_variables)   # the file holds the optimizer's state too
  best.load_weights(os.path.join(workdir, 'best.weights.h5'))
  for a, b in zip(saved.get_weights(), best.get_weights()):   # the saved model is that epoch's
    np.testing.assert_array_equal(a, b)


def test_learning_rate_schedule_is_the_releases():
  """The oracle is the release's rule (`ml/training/decay.py`, applied at the end of each
  epoch in `train_srnn_midi.py`): after epoch i (0-based) the rate becomes lr0 times
  factor_i, factor_i = 1 before `no_decay_epochs` and decay^-(i - no_decay_epochs + 1) from
  then on; so epoch e runs at lr0 * factor_{e-1}."""
  lr0, steps, constant, decay = 3e-3, 7, 3, 1.3
  schedule = schedules.ConstantThenExponentialDecay(lr0, steps, constant, decay)
  factor = lambda i: 1.0 if i < constant else decay ** -(i - constant + 1)
  for epoch in range(10):
    want = lr0 * (factor(epoch - 1) if epoch else 1.0)
    for step in (epoch * steps, epoch * steps + steps - 1):   # an epoch's first and last step
      np.testing.assert_allclose(float(schedule(step)), want, rtol=1e-6, err_msg=(epoch, step))
  again = schedules.ConstantThenExponentialDecay.from_config(schedule.get_config())
  assert float(again(50)) == float(schedule(50))


def test_early_stopping_carries_its_best_and_patience_over_a_resume():
  model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
  model.stop_training = False   # as fit() sets it
  # The killed run's history: best at epoch 2, two epochs without improvement since.
  stop = callbacks.ResumableEarlyStopping(patience=3, previous=[-5.0, -4.0, -4.5, -4.6])
  stop.set_model(model)
  stop.on_train_begin()
  assert (stop.best, stop.wait) == (-4.0, 2)
  stop.on_epoch_end(4, {'val_elbo': -3.9})      # better: the count restarts
  assert not model.stop_training and stop.wait == 0
  for epoch, value in enumerate([-4.1, -4.2], 5):
    stop.on_epoch_end(epoch, {'val_elbo': value})
  assert not model.stop_training
  stop.on_epoch_end(7, {'val_elbo': -4.0})      # third epoch without beating -3.9
  assert model.stop_training


def test_early_stopping_ends_a_run_early(data_dir, tmp_path):
  config = _small(data_dir, dataset='jsb', data_version='srnn2016', epochs=30,
                  learning_rate=0.0, early_stopping_patience=1, keep_best=True)
  summary = trainer.train_and_evaluate(config, str(tmp_path / 'run'), verbose=0)
  # lr 0: the validation ELBO moves only with the posterior sample, so within a few epochs one
  # fails to improve, and that epoch (patience 1) is the last; the best one is kept.
  val = [float(r['val_elbo']) for r in _history(tmp_path / 'run')]
  assert len(val) < 30 and val[-1] <= max(val[:-1])
  assert summary['kept_epoch'] == int(np.argmax(val)) + 1 == len(val) - 1


def test_a_finished_held_rate_run_trained_further_equals_one_capped_higher(data_dir, tmp_path):
  """A run that held its learning rate through its cap, then trained to a higher cap with the
  rate still held, has the history and weights of a run given the higher cap from the start
  (the search's cap raised for models still improving at it)."""
  held = lambda epochs: _small(data_dir, dataset='jsb', data_version='srnn2016', epochs=epochs,
                               lr_constant_epochs=epochs, keep_best=True,
                               early_stopping_patience=5)
  trainer.train_and_evaluate(held(1), str(tmp_path / 'extended'), verbose=0)
  extended = trainer.train_and_evaluate(held(2), str(tmp_path / 'extended'), verbose=0)
  direct = trainer.train_and_evaluate(held(2), str(tmp_path / 'direct'), verbose=0)
  untimed = lambda run: [{k: v for k, v in row.items() if k != 'steps_per_sec'}
                         for row in _history(tmp_path / run)]
  assert untimed('extended') == untimed('direct')
  assert len(untimed('direct')) == 2
  assert extended['valid'] == direct['valid']
  assert extended['config'] == direct['config']


def test_nan_stops_training_and_keeps_the_last_good_backup(tmp_path):
  rolls = (np.random.default_rng(0).random((32, 20, 88)) < 0.1).astype(np.float32)
  model = SRNN(z_dim=2, d_dim=4, a_dim=4, hidden_units=8, embed_units=(8,), seed=0)
  model.check_inputs = False   # the NaN below stands for any non-finite loss the checks miss
  model.compile(optimizer=keras.optimizers.Adam(1e-3))
  model.build()
  backup = tmp_path / 'backup'
  guards = lambda: [callbacks.NanGuard(str(tmp_path)), callbacks.EpochBackup(str(tmp_path))]
  model.fit(rolls, batch_size=16, epochs=1, callbacks=guards(), verbose=0)
  weights = backup / 'weights-00001.weights.h5'
  good = weights.read_bytes()

  poisoned = rolls.copy()
  poisoned[20, 3, 5] = np.nan
  with pytest.raises(NonFiniteLossError,
                     match='non-finite training loss.*last good checkpoint is kept'):
    model.fit(poisoned, batch_size=16, epochs=3, callbacks=guards(), verbose=0)
  assert weights.read_bytes() == good
  assert sorted(os.listdir(backup)) == ['state.json', 'weights-00001.weights.h5']


def test_carried_state_flows_between_batches(data_dir):
  """With carry_state, the second batch starts from the first batch's final (d, z)."""
  config = _small(data_dir, dataset='jsb', data_version='srnn2016')
  ds, steps = pipeline.stream_dataset([np.eye(88, dtype=np.uint8)[np.arange(40) % 88]] * 16,
                                      seq_len=20, batch_size=16)
  model = trainer.build_model(config, steps)
  batches = iter(ds)
  first = next(batches)
  model.train_on_batch(first)
  carried = [v.numpy().copy() for v in model._carried]
  assert all(np.any(c != 0) for c in carried)
  model.reset_carried_state()
  assert all(np.all(v.numpy() == 0) for v in model._carried)
  assert len(carried) == 2 and carried[0].shape == (16, config.d_dim)


def test_generate_writes_each_file_whole_or_not_at_all(trained_run, tmp_path):
  """Killed while writing a sample's piano roll (the moment before the rename): the MIDI
  written before it is whole, the PNG is absent (never truncated), and only a temporary is
  left, which the name tells apart."""
  workdir, _ = trained_run
  out = tmp_path / 'killed'
  result = subprocess.run(
      [sys.executable, 'generate.py', f'--run={workdir}', '--num_pieces=1', '--num_steps=8',
       '--seed=4', f'--output_dir={out}', '--nowav'], cwd=ROOT, capture_output=True,
      text=True, timeout=300, env={**os.environ, 'SRNN_TF_FAILPOINT': 'write:sample_seed4_0.png'})
  assert result.returncode == -9, result.stderr[-2000:]
  assert midi.read_midi(out / 'sample_seed4_0.mid', frames_per_quarter=2).roll.shape[1] == 88
  assert not (out / 'sample_seed4_0.png').exists()
  assert all(p.name.startswith('.tmp-') for p in out.iterdir() if p.suffix == '.png')


def test_generate_script_writes_reproducible_midi_and_png(trained_run, tmp_path):
  """The script's pieces are the library's (`model.generate` of the same seed, in this
  process: the same seed gives the same piece across processes), on the run's grid, under
  names that carry the temperature. (One script run: the untempered names are those of
  `test_generate_writes_each_file_whole_or_not_at_all`.)"""
  workdir, _ = trained_run
  out = tmp_path / 'tempered'
  result = subprocess.run(
      [sys.executable, 'generate.py', f'--run={workdir}', '--num_pieces=2', '--num_steps=24',
       '--seed=4', f'--output_dir={out}', '--nowav', '--temperature=0.7'], cwd=ROOT,
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  # The run trained on srnn2016 JSB, whose frames are 0.3 s (two per quarter note at 100 bpm):
  # run.json records the grid, and the samples are written on it.
  with open(os.path.join(workdir, 'run.json')) as f:
    grid = json.load(f)['grid']
  assert (grid['frames_per_quarter'], grid['tempo'], grid['seconds_per_frame']) == (2, 100, 0.3)
  model = finished.load_run(workdir).model
  tempered = model.generate(24, 2, seed=(4, 0), temperature=0.7).numpy()
  plain = model.generate(24, 2, seed=(4, 0)).numpy()
  assert not np.array_equal(tempered, plain)   # another temperature: other pieces
  for i in range(2):
    mid = out / f'sample_seed4_t0.7_{i}.mid'
    assert (out / f'sample_seed4_t0.7_{i}.png').stat().st_size > 1000
    pm = pretty_midi.PrettyMIDI(str(mid))
    np.testing.assert_allclose(pm.get_tempo_changes()[1], [grid['tempo']])
    times = np.array([[n.start, n.end] for n in pm.instruments[0].notes])
    frames = times / grid['seconds_per_frame']
    assert len(times) and np.allclose(frames, np.round(frames), atol=1e-6)   # on the grid
    roll = midi.read_midi(mid, frames_per_quarter=2).roll
    assert roll.shape[1] == 88 and 0 < len(roll) <= 24
    # MIDI ends at the last note off: trailing silent frames are not written.
    np.testing.assert_array_equal(roll, tempered[i][:len(roll)])
    assert not tempered[i][len(roll):].any()


def test_reconstruct_script_on_a_real_midi_file(trained_run, data_dir, tmp_path):
  workdir, _ = trained_run
  result = subprocess.run(
      [sys.executable, 'reconstruct.py', f'--run={workdir}',
       f'--midi={data_dir / "midi" / "test03.mid"}', f'--output_dir={tmp_path}'], cwd=ROOT,
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (tmp_path / 'test03_mid.png').stat().st_size > 1000
  assert midi.read_midi(tmp_path / 'test03_mid_reconstruction.mid').roll.shape[1] == 88



def test_nade_pretraining_starts_the_emission_from_the_fitted_nade(data_dir, tmp_path):
  from srnn_tf import nade
  from srnn_tf.data import corpus as corpus_lib
  config = _small(data_dir, dataset='jsb', data_version='srnn2016', model='rnn', epochs=1,
                  emission='nade', nade_units=8, nade_pretrain_steps=300, learning_rate=0.0)
  summary = trainer.train_and_evaluate(config, str(tmp_path / 'run'), verbose=0)
  # lr 0: the trained model is where training started, the fitted NADE's weights ...
  model = finished.load_run(str(tmp_path / 'run')).model
  corpus = corpus_lib.load_corpus('jsb', 'srnn2016', str(data_dir), download=False)
  fitted = nade.fit(np.concatenate(corpus.splits['train']), 8, 300, seed=config.seed)
  np.testing.assert_allclose(model.frame.input_weights.numpy(), fitted['input_weights'],
                             rtol=1e-4, atol=1e-6)
  # ... and already a model of JSB's frames, where an untrained one scores about 88 log 2.
  assert summary['valid']['elbo_per_step'] > UNTRAINED_ELBO / 4
  with pytest.raises(configs.UserError, match='--nade_pretrain_steps=300: needs '
                     '--emission=nade'):
    configs.get_config('small', nade_pretrain_steps=300)
