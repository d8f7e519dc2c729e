"""Nothing lost or overwritten, one-line errors, bounded inputs, honest exit codes.

Grouped by entry point. A one-line error means: a non-zero exit, exactly one `error:` line on
stderr naming the argument or file, and no traceback. Kills are real (SIGKILL, at exact
moments through `files.failpoint`), and a killed-and-resumed run is compared with an
uninterrupted run of the same seed.
"""

import csv
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import mido
import numpy as np
import pytest

from srnn_tf import callbacks, configs, export, files, finished, rundir, trainer
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.errors import (DiskFullError, LimitError, NonFiniteLossError, RunDirError,
                            UserError)
from srnn_tf.data.errors import DataError

ROOT = pathlib.Path(__file__).resolve().parents[1]
# No SavedModel export (seconds of tracing per run) where a test is not about it.
SMALL = ['--config=small', '--dataset=jsb', '--data_version=srnn2016', '--seq_len=20',
         '--nosaved_model']


def _script(script, *args, cwd=None, env=None, timeout=300):
  return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=cwd or ROOT,
                        capture_output=True, text=True, timeout=timeout,
                        env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', **(env or {})})


def assert_one_line_error(result, *fragments):
  """A non-zero exit with one `error:` line that contains every fragment, no traceback."""
  assert result.returncode != 0, result.stdout[-500:]
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1, result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


def _history(workdir, drop=('steps_per_sec',)):
  with open(os.path.join(workdir, 'history.csv')) as f:
    return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def _results(workdir):
  summary = json.load(open(os.path.join(workdir, 'run.json')))
  final = {k: v for k, v in summary['final_train'].items() if k != 'steps_per_sec'}
  return ({k: summary.get(k) for k in ('valid', 'test', 'test_release_first_frame', 'kept_epoch',
                                       'epochs_trained', 'config')}, final)


def _small(data_dir, **kw):
  return configs.get_config('small', dataset='jsb', data_version='srnn2016', seq_len=20,
                            data_dir=str(data_dir), saved_model=False, **kw)


@pytest.fixture(scope='module')
def finished_run(small_run):
  """The session's finished 2-epoch run (keep_best; conftest.py)."""
  return small_run


# --------------------------------------------------------------------------------------------
# train: data loss.


def test_results_copies_never_replace_other_results(finished_run, tmp_path):
  workdir, config, summary = finished_run
  results = tmp_path / 'results'
  results.mkdir()
  committed = results / f'{os.path.basename(workdir)}.json'   # the run's copy in results/
  committed.write_text('{"committed": "by an earlier run"}')
  with pytest.raises(RunDirError, match='exists and holds other results; not replaced'):
    trainer.train_and_evaluate(config, workdir, str(results), verbose=0)
  assert committed.read_text() == '{"committed": "by an earlier run"}'
  # The same results again are fine; --overwrite_results replaces.
  trainer.train_and_evaluate(config, workdir, str(results), verbose=0, overwrite_results=True)
  assert json.loads(committed.read_text())['test'] == summary['test']
  trainer.train_and_evaluate(config, workdir, str(results), verbose=0)


def test_a_busy_run_folder_is_refused(finished_run, data_dir, tmp_path):
  workdir = str(tmp_path / 'busy')
  os.makedirs(workdir)
  lock = os.path.join(workdir, rundir.LOCK)
  with rundir.locked(workdir):
    with pytest.raises(RunDirError, match=r'busy: in use by process \d+') as e:
      trainer.train_and_evaluate(_small(data_dir, epochs=1), workdir, verbose=0)
    assert e.value.exit_status == 75   # taken, not failed: a sweep moves on to the next run
    assert files.holder(lock) == f'process {os.getpid()}'
  assert files.holder(lock) is None
  assert sorted(os.listdir(workdir)) == ['.lock']     # nothing written by the refused run


def test_a_conflicting_resume_is_refused_naming_the_flags(finished_run, data_dir):
  workdir, config, _ = finished_run
  before = open(os.path.join(workdir, 'config.json')).read()
  for changed, flag in ((dict(z_dim=8), '--z_dim=8 (the run has 4)'),
                        (dict(learning_rate=0.01), '--learning_rate=0.01 (the run has 0.001)'),
                        (dict(model='vrnn'), '--model=vrnn (the run has srnn)'),
                        (dict(epochs=1), '--epochs=1 (the run has 2; a run can only be trained')):
    other = dataclasses.replace(config, **changed)
    with pytest.raises(RunDirError, match='holds another run') as e:
      trainer.train_and_evaluate(other, workdir, verbose=0)
    assert flag in str(e.value)
  assert open(os.path.join(workdir, 'config.json')).read() == before


def test_epochs_zero_is_refused_before_anything_is_written(tmp_path):
  with pytest.raises(UserError, match='--epochs=0: must be at least 1'):
    configs.get_config('small', epochs=0)
  result = _script('train.py', *SMALL, '--epochs=-2', f'--output_dir={tmp_path / "run"}')
  assert_one_line_error(result, '--epochs=-2: must be at least 1')
  assert not (tmp_path / 'run').exists()


def test_a_folder_of_other_files_is_refused_and_left_untouched(tmp_path):
  """A non-empty folder that is not a run folder (no config.json) is not taken as a new run:
  one line, and every file in it as it was."""
  folder = tmp_path / 'mine'
  folder.mkdir()
  files = {'history.csv': 'my,own\n1,2\n', 'model.keras': 'not ours', 'run.json': '{}',
           '.tmp-notes': 'draft'}
  for name, text in files.items():
    (folder / name).write_text(text)
  result = _script('train.py', *SMALL, '--epochs=1', f'--output_dir={folder}')
  assert_one_line_error(result, f'--output_dir={folder}', 'not a run folder')
  assert {p.name: p.read_text() for p in folder.iterdir()} == files
  with pytest.raises(UserError, match='not a run folder'):
    trainer.train_and_evaluate(configs.get_config('small'), str(folder))
  assert {p.name: p.read_text() for p in folder.iterdir()} == files


def _copy_unfinished(workdir, tmp_path, name):
  """The finished run without its final files: as if killed after its last epoch."""
  copy = tmp_path / name
  shutil.copytree(workdir, copy)
  for f in ('run.json', 'model.keras', 'saved_model'):
    path = copy / f
    shutil.rmtree(path) if path.is_dir() else path.unlink()
  return copy


def test_backup_deleted_or_contradicted_refuses_to_resume(finished_run, tmp_path):
  workdir, config, _ = finished_run
  copy = _copy_unfinished(workdir, tmp_path, 'deleted')
  shutil.rmtree(copy / 'backup')
  with pytest.raises(RunDirError, match=r'records 2 epoch\(s\) but .* holds no usable training'):
    trainer.train_and_evaluate(config, str(copy), verbose=0)
  assert len(_history(copy)) == 2          # nothing restarted from scratch
  copy = _copy_unfinished(workdir, tmp_path, 'weightless')
  for weights in (copy / 'backup').glob('weights-*.h5'):
    weights.unlink()
  with pytest.raises(RunDirError, match=r'\(state.json names weights-00002.weights.h5, which is '
                                        r'missing, state.json.prev names weights-00001'):
    trainer.train_and_evaluate(config, str(copy), verbose=0)
  copy = _copy_unfinished(workdir, tmp_path, 'edited')
  (copy / 'backup' / 'state.json').write_text('{"epoch": 99, "weights": "weights-00002.weights.h5"}')
  with pytest.raises(RunDirError, match='says epoch 99, but history.csv records 2'):
    trainer.train_and_evaluate(config, str(copy), verbose=0)
  copy = _copy_unfinished(workdir, tmp_path, 'binary')   # a UnicodeDecodeError traceback before
  (copy / 'history.csv').write_bytes(bytes(range(256)) * 4)
  with pytest.raises(RunDirError, match=r'binary/history.csv: not a readable history '
                                        r'\(UnicodeDecodeError\); the run cannot resume'):
    trainer.train_and_evaluate(config, str(copy), verbose=0)


def test_truncated_latest_weights_resume_from_the_previous_epoch_exactly(finished_run, data_dir,
                                                                          tmp_path, caplog):
  """Weights of the last epoch damaged: the run says so, retrains that epoch, and ends as an
  uninterrupted run does: no epoch twice in the history, the kept epoch one of its epochs."""
  workdir, config, summary = finished_run
  copy = _copy_unfinished(workdir, tmp_path, 'truncated')
  latest = copy / 'backup' / 'weights-00002.weights.h5'
  latest.write_bytes(latest.read_bytes()[:1000])
  again = trainer.train_and_evaluate(dataclasses.replace(config, saved_model=False), str(copy),
                                     verbose=0)
  assert 'latest training state is unusable' in caplog.text
  assert [r['epoch'] for r in _history(copy)] == ['0', '1']
  assert _history(copy) == _history(workdir)
  assert again['kept_epoch'] == summary['kept_epoch'] in (1, 2)
  assert (again['valid'], again['test']) == (summary['valid'], summary['test'])


def test_a_search_candidate_leaves_the_test_split_unread(finished_run, tmp_path):
  """`--noevaluate_test` (a search's candidates): the run ends with its validation numbers
  only; the option changes nothing that was trained, so a finished run takes it on resume."""
  workdir, config, summary = finished_run
  copy = tmp_path / 'candidate'
  shutil.copytree(workdir, copy)
  (copy / 'run.json').unlink()
  again = trainer.train_and_evaluate(
      dataclasses.replace(config, saved_model=False, evaluate_test=False), str(copy), verbose=0)
  assert again['valid'] == summary['valid']
  assert not [k for k in again if k.startswith('test')], sorted(again)
  assert not [k for k in json.load(open(copy / 'run.json')) if k.startswith('test')]


def test_a_truncated_run_json_is_written_again(finished_run, tmp_path):
  workdir, config, summary = finished_run
  copy = tmp_path / 'runjson'
  shutil.copytree(workdir, copy)
  (copy / 'run.json').write_text('{"config": {"epo')
  again = trainer.train_and_evaluate(dataclasses.replace(config, saved_model=False), str(copy),
                                     verbose=0)
  assert again['test'] == summary['test'] and again['final_train'] == summary['final_train']
  assert json.load(open(copy / 'run.json'))['test'] == summary['test']


def test_files_are_written_with_the_usual_mode(finished_run):
  workdir, _, _ = finished_run
  mode = 0o666 & ~files.umask()
  for name in ('model.keras', 'run.json', 'config.json', 'best.weights.h5', 'backup/state.json'):
    assert os.stat(os.path.join(workdir, name)).st_mode & 0o777 == mode, name


def test_nan_message_claims_no_checkpoint_that_does_not_exist(tmp_path):
  guard = callbacks.NanGuard(str(tmp_path))
  with pytest.raises(NonFiniteLossError, match='No checkpoint was written yet'):
    guard.on_train_batch_end(0, {'loss': float('nan')})


def test_a_bound_above_zero_is_reported_once(caplog):
  """An epoch whose training bound is above 0 nats per frame (the first FIVO run's reached
  +3.82 with reused particle noise) is reported, once; a normal one is not."""
  guard = callbacks.NanGuard()
  with caplog.at_level('WARNING'):
    guard.on_epoch_end(0, {'loss': 6.5})
    assert not caplog.records
    guard.on_epoch_end(12, {'loss': -0.875})
    guard.on_epoch_end(13, {'loss': -1.5})
  (record,) = caplog.records
  assert 'epoch 13: the training bound is +0.875 nats per frame, above 0' in record.getMessage()


def test_export_on_a_full_disk_cleans_up(finished_run, tmp_path, monkeypatch):
  import errno
  import tensorflow as tf
  workdir, _, _ = finished_run
  model = finished.load_run(workdir).model

  def full(obj, path, *args, **kwargs):
    os.makedirs(path, exist_ok=True)
    (pathlib.Path(path) / 'partial').write_bytes(b'x' * 1000)
    raise OSError(errno.ENOSPC, 'No space left on device')
  monkeypatch.setattr(tf.saved_model, 'save', full)
  with pytest.raises(DiskFullError, match='disk full while writing .*saved_model'):
    export.export_saved_model(model, str(tmp_path / 'saved_model'))
  assert os.listdir(tmp_path) == []


def test_a_weights_file_that_would_not_fit_is_refused_before_h5py_writes(finished_run, tmp_path,
                                                                          monkeypatch):
  """The bound on the file's size holds (the real file, with Adam's state), and a disk with
  less room than it refuses the write before h5py starts (tests/test_interruptions.py: on a
  real small disk)."""
  workdir, config, _ = finished_run
  model = trainer.build_model(config, 1)
  model.optimizer.build(model.trainable_variables)
  bound = files.weights_file_bytes(model)
  files.save_weights(model, str(tmp_path / 'a.weights.h5'))
  assert 0.5 * bound < (tmp_path / 'a.weights.h5').stat().st_size <= bound
  usage = shutil.disk_usage(tmp_path)
  monkeypatch.setattr(shutil, 'disk_usage', lambda _: usage._replace(free=bound - 1))
  with pytest.raises(DiskFullError, match=f'disk full while writing {tmp_path / "b.weights.h5"}'):
    files.save_weights(model, str(tmp_path / 'b.weights.h5'))
  assert os.listdir(tmp_path) == ['a.weights.h5']


# --------------------------------------------------------------------------------------------
# train: honest results and one-line errors.


def _midi_file(path, last_tick, ticks_per_beat=1):
  mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
  track = mido.MidiTrack()
  track.append(mido.Message('note_on', note=60, velocity=64, time=last_tick))
  track.append(mido.Message('note_off', note=60, velocity=0, time=1))
  mid.tracks.append(track)
  mid.save(path)
  return path


def test_training_needs_every_split(data_dir, tmp_path):
  one = _midi_file(tmp_path / 'one.mid', 4, ticks_per_beat=4)
  with pytest.raises(DataError, match='the train split is empty'):
    trainer.train_and_evaluate(configs.get_config('small', dataset=str(one)),
                                 str(tmp_path / 'r1'), verbose=0)
  folder = tmp_path / 'two'
  folder.mkdir()
  for i in range(2):
    _midi_file(folder / f'{i}.mid', 4, ticks_per_beat=4)
  with pytest.raises(DataError, match='split is empty .*at least 3 files'):
    trainer.train_and_evaluate(configs.get_config('small', dataset=str(folder)),
                                 str(tmp_path / 'r2'), verbose=0)


@pytest.mark.parametrize('flag, message', [
    ('--seq_len=0', '--seq_len=0: must be at least 1'),
    ('--batch_size=0', '--batch_size=0: must be at least 1'),
    ('--z_dim=0', '--z_dim=0: must be at least 1'),
    ('--z_dim=-3', '--z_dim=-3: must be at least 1'),
    ('--dropout_d=1.5', '--dropout_d=1.5: must be in [0, 1)'),
    ('--embed_units=a,b', '--embed_units=a,b: not a list of integers'),
])
def test_train_flags_out_of_range(flag, message, tmp_path):
  assert_one_line_error(_script('train.py', *SMALL, flag, f'--output_dir={tmp_path}/r'), message)
  assert not (tmp_path / 'r').exists()


def test_train_output_dir_and_dataset_paths(tmp_path, data_dir):
  a_file = tmp_path / 'file'
  a_file.write_text('x')
  assert_one_line_error(_script('train.py', *SMALL, f'--output_dir={a_file}'),
                        f'--output_dir={a_file}: is a file')
  assert_one_line_error(_script('train.py', *SMALL, f'--output_dir={a_file}/run'),
                        'cannot create it (a parent is a file)')
  assert_one_line_error(_script('train.py', '--config=small', '--dataset=data/jsb_typo.npz',
                                f'--output_dir={tmp_path}/r'),
                        'data/jsb_typo.npz: no such file or folder')


# --------------------------------------------------------------------------------------------
# Limits, checked before allocating.


def test_a_tiny_midi_file_cannot_allocate_gigabytes(tmp_path):
  far = _midi_file(tmp_path / 'far.mid', 9_000_000)          # 45 bytes, division 1
  assert far.stat().st_size < 64
  with pytest.raises(LimitError, match=r'piece length in frames 36,000,\d{3} exceeds the limit '
                                       r'of 1,000,000 \(raise it with --max_piece_frames\)'):
    corpus_lib.load_file(far)
  farther = _midi_file(tmp_path / 'farther.mid', 2 ** 27)
  with pytest.raises(LimitError, match=r'last MIDI tick .* \(raise it with --max_midi_ticks\)'):
    corpus_lib.load_file(farther)
  result = subprocess.run([sys.executable, '-m', 'srnn_tf.data', 'describe', f'--file={far}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert_one_line_error(result, str(far), '--max_piece_frames')
  longer = _midi_file(tmp_path / 'longer.mid', 300_000)      # 1.2 M frames: over, by a bit
  with pytest.raises(LimitError, match='--max_piece_frames'):
    corpus_lib.load_file(longer)
  result = subprocess.run([sys.executable, '-m', 'srnn_tf.data', 'describe',
                           f'--file={longer}', '--max_piece_frames=2000000'], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 0 and '1,200,0' in result.stdout, result.stderr[-2000:]


def test_a_training_batch_too_large_is_refused_before_anything_is_written(tmp_path):
  config = configs.get_config('small', batch_size=100_000, seq_len=100)
  with pytest.raises(LimitError, match=r'^--batch_size=100000 x --seq_len=100: frames per '
                                       r'training batch 10,000,000 exceeds the limit of 100,000 '
                                       r'\(raise it with --max_batch_frames\)$'):
    trainer.train_and_evaluate(config, str(tmp_path / 'run'), verbose=0)
  assert not (tmp_path / 'run').exists()
  assert_one_line_error(_script('train.py', '--config=small', '--seq_len=1000000',
                                f'--output_dir={tmp_path}/run'),
                        '--seq_len=1000000', '--max_batch_frames')
  assert not (tmp_path / 'run').exists()


def test_a_folder_given_as_a_midi_file_is_named_a_folder(tmp_path):
  from srnn_tf.data import midi
  with pytest.raises(DataError, match=f'^{tmp_path}: a folder, not a MIDI file$'):
    midi.read_midi(tmp_path)


def test_limits_are_set_by_configure_not_by_flags(monkeypatch):
  from srnn_tf import limits
  monkeypatch.setattr(limits, '_current', limits.Limits())
  assert limits.configure(max_batch_frames=10).max_batch_frames == 10
  with pytest.raises(LimitError, match='--max_batch_frames'):
    limits.batch_frames(4, 3)
  with pytest.raises(ValueError, match="no limit 'max_frames'"):
    limits.configure(max_frames=3)
  with pytest.raises(ValueError, match='max_data_mb=0: must be a positive integer'):
    limits.configure(max_data_mb=0)


def _npz_with_header(path, arrays):
  """An npz whose members have only a .npy header (shape and dtype), no data."""
  with zipfile.ZipFile(path, 'w') as z:
    for name, (shape, dtype) in arrays.items():
      with z.open(name + '.npy', 'w') as f:
        np.lib.format.write_array_header_1_0(f, {'descr': np.dtype(dtype).str,
                                                  'fortran_order': False, 'shape': shape})
  return path


def test_an_npz_that_would_unpack_to_gigabytes_is_refused_unread(tmp_path):
  bomb = _npz_with_header(tmp_path / 'bomb.npz', {
      'x_train': ((160_000, 100, 88), 'float32'), 'x_valid': ((16, 100, 88), 'float32'),
      'x_test': ((1, 100, 88), 'float32'), 'mask_test': ((1, 100), 'float32')})
  with pytest.raises(LimitError, match=r'unpacked array size in MiB 5,372 exceeds the limit of '
                                       r'1,024 \(raise it with --max_data_mb\)'):
    corpus_lib.load_npz(bomb)


def test_a_small_pickle_of_shared_references_is_refused_before_its_rolls_are_built(
    tmp_path, monkeypatch):
  """2 MB that refer to one 1,000-frame piece a million times would be 82 GiB of piano roll:
  the size is counted from the structure and refused before any roll is built; so is one
  piece longer than --max_piece_frames."""
  import pickle
  built = []
  original = corpus_lib._frames_to_roll
  monkeypatch.setattr(corpus_lib, '_frames_to_roll',
                      lambda *args: built.append(1) or original(*args))
  piece = [(60, 64)] * 1000
  bomb = tmp_path / 'shared.pickle'
  bomb.write_bytes(pickle.dumps({'train': [piece] * 1_000_000, 'valid': [piece],
                                 'test': [piece]}))
  assert bomb.stat().st_size < 5_000_000
  with pytest.raises(LimitError, match=r'shared.pickle: unpacked array size in MiB 83,\d{3} '
                                       r'exceeds the limit of 1,024 \(raise it with '
                                       r'--max_data_mb\)'):
    corpus_lib.load_pickle(bomb)
  assert not built                             # refused before a single roll was built
  long = tmp_path / 'long.pickle'
  long.write_bytes(pickle.dumps({'train': [[(60,)] * 1_000_001], 'valid': [piece],
                                 'test': [piece]}))
  with pytest.raises(LimitError, match=r'long.pickle: train sequence 0: piece length in frames '
                                       r'1,000,001 exceeds .* --max_piece_frames'):
    corpus_lib.load_pickle(long)
  assert not built


def test_an_npz_of_empty_chunks_is_refused(tmp_path):
  path = tmp_path / 'empty.npz'
  np.savez(path, x_train=np.zeros((16, 0, 88), np.float32),
           x_valid=np.zeros((16, 0, 88), np.float32), x_test=np.zeros((1, 5, 88), np.float32),
           mask_test=np.ones((1, 5), np.float32))
  with pytest.raises(DataError, match="'x_train' has shape .* with N, L > 0"):
    corpus_lib.load_npz(path)
  result = subprocess.run([sys.executable, '-m', 'srnn_tf.data', 'describe', f'--file={path}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert_one_line_error(result, 'x_train')


def test_symlinked_subfolders_of_a_midi_folder_are_read(data_dir, tmp_path):
  shutil.copytree(data_dir / 'midi', tmp_path / 'real', ignore=shutil.ignore_patterns('LICENSE*'))
  folder = tmp_path / 'corpus'
  folder.mkdir()
  os.symlink(tmp_path / 'real', folder / 'linked')
  os.symlink(folder, folder / 'linked' / 'loop')       # a cycle must not hang or repeat
  files = corpus_lib.midi_files(folder)
  assert len(files) == len(list((tmp_path / 'real').glob('*.mid'))) > 0


# --------------------------------------------------------------------------------------------
# eval, generate, reconstruct, tune, export.


@pytest.mark.parametrize('script, flags, message', [
    ('eval.py', ['--num_samples=0'], 'flag --num_samples=0'),
    ('eval.py', ['--splits=tset'], "flag --splits=['tset']: choose one or more of train, valid, test"),
    ('eval.py', ['--num_particles=0'], 'flag --num_particles=0'),
    ('eval.py', ['--ess_threshold=-1'], 'flag --ess_threshold=-1'),
    ('generate.py', ['--frames_per_quarter=0'], 'flag --frames_per_quarter=0'),
    ('generate.py', ['--frames_per_quarter=-4'], 'flag --frames_per_quarter=-4'),
    ('generate.py', ['--tempo=0'], 'flag --tempo=0'),
    ('generate.py', ['--program=200'], 'flag --program=200'),
    ('generate.py', ['--num_steps=-1'], 'flag --num_steps=-1'),
    ('generate.py', ['--num_pieces=-2'], 'flag --num_pieces=-2'),
    ('generate.py', ['--prime_frames=0'], 'flag --prime_frames=0'),
    ('generate.py', ['--prime_frames=-5'], 'flag --prime_frames=-5'),
    ('generate.py', ['--burn_in=-4'], 'flag --burn_in=-4'),
    ('generate.py', ['--temperature=0'], '--temperature must be positive'),
    ('generate.py', ['--num_steps=1000000000'],
     '--num_steps=1000000000 (+ --burn_in=0) exceeds the limit of 100000 frames'),
    ('generate.py', ['--num_pieces=10000', '--num_steps=100000'],
     '--num_pieces=10000 x 100000 frames: frames to sample 1,000,000,000 exceeds the limit of '
     '10,000,000 (raise it with --max_sampled_frames)'),
    ('generate.py', ['--max_sampled_frames=0'], 'flag --max_sampled_frames=0'),
    ('eval.py', ['--bound=smc', '--num_particles=1000000'],
     '--num_particles=1000000: particles 1,000,000 exceeds the limit of 100,000 (raise it with '
     '--max_particles)'),
    ('reconstruct.py', ['--max_frames=0'], 'flag --max_frames=0'),
    ('tune.py', ['--iterations=0'], '--iterations=0: must be at least 1'),
    ('tune.py', ['--checkpoint_every=0'], '--checkpoint_every=0: must be at least 1'),
])
def test_script_flags_out_of_range(script, flags, message, tmp_path):
  assert_one_line_error(_script(script, '--run=runs/any', *flags), message)


def _unfinished_and_truncated(finished_run, tmp_path):
  workdir, _, _ = finished_run
  unfinished = tmp_path / 'unfinished'
  unfinished.mkdir()
  shutil.copy(os.path.join(workdir, 'config.json'), unfinished)
  truncated = tmp_path / 'truncated.keras'
  truncated.write_bytes(open(os.path.join(workdir, 'model.keras'), 'rb').read()[:5000])
  return unfinished, truncated


def test_every_entry_point_on_a_missing_unfinished_or_truncated_run(finished_run, tmp_path):
  import concurrent.futures
  unfinished, truncated = _unfinished_and_truncated(finished_run, tmp_path)

  def probe(run, command):
    if command == '-m':
      return subprocess.run([sys.executable, '-m', 'srnn_tf.export', f'--run={run}'], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    return _script(command, f'--run={run}', f'--output_dir={tmp_path}/out'
                   if command != 'eval.py' else f'--output={tmp_path}/out.json')

  cases = [(run, message, command)
           for run, message in ((tmp_path / 'missing', 'no such run directory or .keras file'),
                                (unfinished, 'the run has not finished'),
                                (truncated, 'not a readable model (truncated or damaged'))
           for command in ('eval.py', 'generate.py', 'reconstruct.py', 'tune.py', '-m')]
  with concurrent.futures.ThreadPoolExecutor(4) as pool:   # 15 processes, most load TF
    results = list(pool.map(lambda case: probe(case[0], case[2]), cases))
  for (run, message, _), result in zip(cases, results):
    assert_one_line_error(result, str(run), message)
  # All three are answered before TensorFlow loads (it takes seconds).
  code = ('import sys; from srnn_tf import finished, errors\n'
          'for run in sys.argv[1:]:\n'
          '  try: finished.model_file(run)\n'
          '  except errors.RunDirError: pass\n'
          '  else: raise SystemExit(run)\n'
          'print(sorted(m for m in sys.modules if m.startswith(("tensorflow", "keras"))))')
  result = subprocess.run([sys.executable, '-c', code, *(str(run) for run, _, _ in cases[::5])],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
  assert result.returncode == 0 and result.stdout.strip() == '[]', result.stderr[-2000:]


def test_a_model_file_holding_code_is_refused_as_such(tmp_path):
  import keras
  marker = str(tmp_path / 'ran')
  crafted = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(
      lambda x: x + 0 * len(open(marker, 'w').name))])   # runs if deserialised
  os.remove(marker)
  crafted.save(tmp_path / 'model.keras')
  with pytest.raises(RunDirError, match='model.keras: refused: loading it would run code'):
    finished.load_run(str(tmp_path / 'model.keras'))
  assert not os.path.exists(marker)


def test_eval_checks_its_output_before_the_work(finished_run, tmp_path):
  workdir, _, _ = finished_run
  result = _script('eval.py', f'--run={workdir}', f'--output={tmp_path}/no/such/x.json')
  assert_one_line_error(result, 'does not exist')
  assert 'ELBO/step' not in result.stdout      # refused before evaluating


def test_reconstruct_index_out_of_range(finished_run):
  workdir, _, _ = finished_run
  assert_one_line_error(_script('reconstruct.py', f'--run={workdir}', '--index=5000'),
                        '--index=5000: the test split has 77 piece(s)')


def test_reconstruct_of_a_midi_folder_run_writes_only_into_its_output_dir(data_dir, tmp_path):
  data = tmp_path / 'songs'
  shutil.copytree(data_dir / 'midi', data, ignore=shutil.ignore_patterns('LICENSE*'))
  before = sorted(p.name for p in data.iterdir())
  run = tmp_path / 'run'
  config = configs.get_config('small', dataset=str(data), frames_per_quarter=2,
                              saved_model=False)
  trainer.train_and_evaluate(config, str(run), verbose=0)
  out = tmp_path / 'out'
  result = _script('reconstruct.py', f'--run={run}', f'--output_dir={out}', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-2000:]
  assert sorted(p.name for p in data.iterdir()) == before
  written = sorted(p.name for p in out.iterdir())
  assert written == ['songs_boulanger_test_piece_0.png',
                     'songs_boulanger_test_piece_0_reconstruction.mid']


# --------------------------------------------------------------------------------------------
# The SavedModel's signatures.


@pytest.fixture(scope='module')
def served(finished_run):
  import tensorflow as tf
  workdir, _, _ = finished_run
  return tf.saved_model.load(os.path.join(workdir, 'saved_model')).signatures


@pytest.mark.parametrize('signature, inputs, message', [
    ('score', dict(x=np.zeros((3, 88))), 'x must be a piano roll [batch, time, 88] (rank 3)'),
    ('score', dict(x=np.zeros((1, 2, 3, 88))), 'x must be a piano roll [batch, time, 88]'),
    ('score', dict(x=np.zeros((1, 0, 88))), 'x must have at least one frame'),
    ('score', dict(x=np.zeros((1, 4, 87))), 'x must have 88 keys'),
    ('score', dict(x=np.zeros((1, 100_001, 88))), 'x may have at most 100000 frames'),
    ('reconstruct', dict(x=np.zeros((4, 88))), 'x must be a piano roll'),
    ('score_masked', dict(x=np.zeros((1, 4, 88)), mask=np.zeros((1, 4, 1))),
     'mask must be [batch, time] (rank 2)'),
    ('score_masked', dict(x=np.zeros((1, 4, 88)), mask=np.zeros((1, 4))),
     'mask must start with a real frame'),
    ('score_masked', dict(x=np.zeros((1, 4, 88)), mask=np.array([[1, 0, 1, 0]])),
     'mask must be ones then zeros in every row (no holes)'),
    ('sample', dict(num_steps=np.array([4, 5], np.int64), seed=np.int64(0)),
     'num_steps must be a scalar'),
    ('sample', dict(num_steps=np.int64(0), seed=np.int64(0)), 'num_steps must be positive'),
])
def test_signatures_refuse_bad_requests_with_their_own_message(served, signature, inputs,
                                                               message):
  import tensorflow as tf
  inputs = {k: tf.constant(v, tf.int64 if signature == 'sample' else tf.float32)
            for k, v in inputs.items()}
  with pytest.raises(tf.errors.InvalidArgumentError) as e:
    served[signature](**inputs)
  assert message in str(e.value)


def test_signatures_still_serve_good_requests(served):
  import tensorflow as tf
  x = tf.constant((np.random.default_rng(0).random((2, 5, 88)) < 0.1).astype(np.float32))
  full = served['score'](x=x)
  masked = served['score_masked'](x=x, mask=tf.ones([2, 5]))
  np.testing.assert_allclose(full['elbo'], masked['elbo'], rtol=1e-6)
  assert served['sample'](num_steps=tf.constant(3, tf.int64),
                          seed=tf.constant(1, tf.int64))['piano_roll'].shape == (1, 3, 88)
