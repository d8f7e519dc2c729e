"""Shared fixtures. Real data is read from $SRNN_TF_TEST_DATA, else ../shared/data.

Tests that need it fail loudly in CI (CI=true) when it is missing, and skip with the reason
on a user's machine.
"""

import fcntl
import os
import pathlib

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_DIR = pathlib.Path(os.environ.get('SRNN_TF_TEST_DATA', ROOT.parent / 'shared' / 'data'))


# The files that take longest (seconds of CPU in a full run), started first: `--dist loadfile`
# hands out whole files in collection order (pyproject.toml: `--no-loadscope-reorder`), so
# with the long ones last one worker could be left running a long file alone at the end
# (longest first keeps the two close).
SLOWEST_FIRST = ('test_bounds.py', 'test_train.py', 'test_export.py', 'test_interruptions.py',
                 'test_reliability.py', 'test_keras_api.py', 'test_distribute.py',
                 'test_workflow.py', 'test_generate.py', 'test_presets.py', 'test_demo.py',
                 'test_rl.py', 'test_music.py')


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: order kept
  for item in items:   # `-m "not slow"`: the quick subset (CONTRIBUTING.md)
    if item.path.name in SLOWEST_FIRST:
      item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session')
def data_dir() -> pathlib.Path:
  if not (DATA_DIR / 'boulanger').is_dir() or not (DATA_DIR / 'srnn2016').is_dir():
    message = (f'real data not found at {DATA_DIR} (set SRNN_TF_TEST_DATA to a directory '
               'laid out like ../shared/data)')
    if os.environ.get('CI'):
      pytest.fail(message)
    pytest.skip(message)
  return DATA_DIR


@pytest.fixture(scope='session')
def small_run(data_dir, tmp_path_factory):
  """A finished 2-epoch run of the small preset on srnn2016 JSB (20-frame windows, the best
  validation epoch kept, TensorBoard media at epoch 2), read by the training, reliability,
  tuning and script tests: `(workdir, config, summary)`. Tests that change a run work on a
  copy of it.

  Trained once per session, by whichever test worker asks first: the session's folder is
  shared by the xdist workers, and the others wait on a lock and find the run finished."""
  from srnn_tf import configs, rundir, trainer   # TensorFlow: only for the tests that train
  session = tmp_path_factory.getbasetemp()
  if os.environ.get('PYTEST_XDIST_WORKER'):
    session = session.parent   # pytest-N/popen-gwK: the session's folder is pytest-N
  workdir = str(session / 'small_run' / 'jsb_small')
  config = configs.get_config('small', dataset='jsb', data_version='srnn2016', seq_len=20,
                              data_dir=str(data_dir), epochs=2, keep_best=True, media_every=2)
  os.makedirs(os.path.dirname(workdir), exist_ok=True)
  with open(session / 'small_run' / 'lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)   # released when the file closes
    if rundir.finished_summary(workdir) is None:
      trainer.train_and_evaluate(config, workdir, verbose=0)
  return workdir, config, rundir.finished_summary(workdir)   # run.json, as every worker reads it
