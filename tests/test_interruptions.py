"""A training killed at exact moments, or out of disk, loses nothing and says so.

Kills are real (SIGKILL, at exact moments through `files.failpoint`), and a killed-and-resumed
run is compared with an uninterrupted run of the same seed. Apart from `test_reliability.py`
(whose helpers it uses) so that the two long files run on different test workers.
"""

import os
import subprocess
import sys

import pytest

from test_reliability import (ROOT, SMALL, _history, _results, _script,
                              assert_one_line_error)


def _reference(data_dir, tmp_path, *extra):
  """Starts the uninterrupted run of the same seed; returns (its folder, a wait function). It
  trains beside the killed run (one training does not fill the two cores)."""
  ref = tmp_path / 'reference'
  proc = subprocess.Popen(
      [sys.executable, str(ROOT / 'train.py'), *SMALL, '--epochs=2', f'--data_dir={data_dir}',
       *extra, f'--output_dir={ref}'], cwd=tmp_path, stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE, text=True, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})

  def wait():
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return ref
  return ref, wait


def test_kill_at_several_moments_then_resume_equals_an_uninterrupted_run(data_dir, tmp_path):
  """SIGKILL at the second epoch's backup commit (its weights file written, state.json's
  temporary not yet renamed), while writing model.keras and while writing run.json (the final
  save); each rerun resumes; the end equals an uninterrupted run of the same seed. (A kill at
  the first epoch's commit leaves the same leftovers with nothing committed: its rerun starts
  over, as any first run does.) Shuffled independent windows
  (`--nocarry_state`), so the resumed epoch must also draw the uninterrupted run's batches
  (the carried-state path resumes in `test_truncated_latest_weights_...`). Runs from another
  working directory: nothing may appear in its results/."""
  extra = ('--keep_best', '--nocarry_state')
  ref, reference_done = _reference(data_dir, tmp_path, *extra)
  run = tmp_path / 'killed'
  args = [*SMALL, '--epochs=2', f'--data_dir={data_dir}', *extra, f'--output_dir={run}']
  for moment in ('write:state.json@2', 'write:model.keras', 'write:run.json'):
    result = _script('train.py', *args, cwd=tmp_path, env={'SRNN_TF_FAILPOINT': moment})
    assert result.returncode == -9, (moment, result.stderr[-2000:])
    assert not (run / 'run.json').exists()
  result = _script('train.py', *args, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-2000:]
  reference_done()
  assert _history(run) == _history(ref)
  assert _results(run) == _results(ref)
  assert not list(run.glob('.tmp-*')) and not list((run / 'backup').glob('.tmp-*'))
  assert not (tmp_path / 'results').exists()   # user runs copy nowhere by default


def test_disk_full_says_so_in_one_line_and_leaves_no_temporaries(data_dir, tmp_path):
  """A 256 KiB disk: the first epoch's backup (weights and Adam's state, 276 KiB) does not
  fit. (h5py, left to meet the full disk, printed a traceback per object and crashed.)"""
  mount = tmp_path / 'small_disk'
  mount.mkdir()
  if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(mount)],
                    capture_output=True).returncode:
    pytest.skip('cannot mount a small tmpfs here (needs privileges); the in-process test of '
                'the same path runs anyway')
  try:
    result = _script('train.py', *SMALL, '--epochs=2', f'--data_dir={data_dir}',
                     f'--output_dir={mount / "run"}')
    assert_one_line_error(result, 'disk full while writing '
                          f'{mount / "run" / "backup" / "weights-00001.weights.h5"}')
    leftovers = [p for p in mount.rglob('.tmp-*')]
    assert not leftovers, leftovers
  finally:
    subprocess.run(['umount', str(mount)])

