"""What the entry points share (`srnn_tf.cli`): a console without TensorFlow's start-up
chatter."""

import os
import re
import subprocess
import sys

import pytest

from srnn_tf import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tensorflow_startup_lines_drop_the_pre_init_noise_and_keep_the_rest():
  noise = ('WARNING: All log messages before absl::InitializeLog() is called are written to '
           'STDERR\n'
           'I0000 00:00:1796249280.59 21309 port.cc:153] oneDNN custom operations are on.\n')
  no_driver = ('I0000 00:00:1796249280.59 21309 cudart_stub.cc:31] Could not find cuda drivers '
               'on your machine, GPU will not be used.\n')
  cuinit = ('E0000 00:00:1796249291.59 21309 cuda_platform.cc:52] failed call to cuInit: '
            'INTERNAL: CUDA error\n')
  kept = 'W0000 00:00:1796249291.59 21309 something.cc:1] a real warning\nTraceback: x\n'
  assert cli.tensorflow_startup_lines(noise + no_driver + cuinit + kept) == kept
  # Where a driver is installed, a failed cuInit is news: it stays.
  assert cli.tensorflow_startup_lines(noise + cuinit + kept) == cuinit + kept


def test_entry_points_import_tensorflow_without_its_startup_chatter():
  quiet = ('from srnn_tf import cli; cli.import_tensorflow_quietly(); import tensorflow as tf; '
           'print(tf.constant(1.0).numpy())')
  plain = 'import tensorflow as tf; print(tf.constant(1.0).numpy())'
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}   # the level that should hide INFO lines
  runs = {name: subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                               env=env, cwd=ROOT) for name, code in (('quiet', quiet),
                                                                     ('plain', plain))}
  assert runs['quiet'].stdout == runs['plain'].stdout == '1.0\n'
  # The control: TensorFlow (the pinned version) does write it, despite the log level.
  assert 'I0000' in runs['plain'].stderr
  assert runs['quiet'].stderr == cli.tensorflow_startup_lines(runs['plain'].stderr)


def test_the_quiet_import_sets_the_thread_pools_before_the_runtime_starts():
  """The device set-up starts TensorFlow's runtime, after which its thread pools are fixed:
  a training's --intra_op_threads / --inter_op_threads must be applied inside the import."""
  code = ('from srnn_tf import cli, threads; cli.import_tensorflow_quietly(threads=(1, 3)); '
          'import tensorflow as tf; threads.set_threads(1, 3); '
          'print(tf.config.threading.get_intra_op_parallelism_threads(), '
          'tf.config.threading.get_inter_op_parallelism_threads())')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.split() == ['1', '3']
  assert 'already initialised' not in result.stderr


def test_user_errors_exit_with_their_status_as_one_line():
  """A bad argument exits 1; a run folder another process holds exits 75 (EX_TEMPFAIL), which
  the sweeps and the queue's lanes read as "taken, try another run"."""
  code = ('import sys; from srnn_tf import cli, errors\n'
          'def main(argv):\n'
          '  raise {error}("runs/x: {what}")\n'
          'cli.run(main)')
  for error, what, status in (('UserError', 'bad', 1), ('RunBusyError', 'in use', 75)):
    result = subprocess.run(
        [sys.executable, '-c', code.format(error=f'errors.{error}', what=what)],
        capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stderr) == (status, f'error: runs/x: {what}\n')



def test_log_lines_are_time_and_message_with_the_level_before_warnings():
  """An entry point's own log lines, as `cli.run` prints them: no Abseil prefix (level and
  date, thread id, file:line); a warning still says it is one."""
  import logging
  formatter = cli.ConsoleFormatter()
  record = lambda level, msg: logging.LogRecord('absl', level, 'f.py', 1, msg, None, None)
  assert re.fullmatch(r'\d\d:\d\d:\d\d epoch 1: 3098 time steps/s',
                      formatter.format(record(logging.INFO, 'epoch 1: 3098 time steps/s')))
  assert re.fullmatch(r'\d\d:\d\d:\d\d ERROR: disk full',
                      formatter.format(record(logging.ERROR, 'disk full')))
  # Installed by cli.run (here a warning from outside the package, which its filter keeps).
  code = ('from absl import logging; from srnn_tf import cli\n'
          'def main(argv):\n'
          '  logging.warning("NaN loss")\n'
          'cli.run(main)')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=ROOT)
  assert result.returncode == 0, result.stderr[-2000:]
  assert re.fullmatch(r'\d\d:\d\d:\d\d WARNING: NaN loss\n', result.stderr), result.stderr


def test_ctrl_c_ends_an_entry_point_with_one_line_and_status_130(capsys, monkeypatch):
  """KeyboardInterrupt (Ctrl-C) anywhere in an entry point's main: one line, exit 130, no
  traceback (every file is written atomically and a training resumes from its last finished
  epoch: tests/test_interruptions.py kills trainings at exact moments)."""
  def main(argv):
    del argv
    raise KeyboardInterrupt

  monkeypatch.setattr(sys, 'argv', ['srnn-train'])
  with pytest.raises(SystemExit) as exit_:
    cli.run(main)
  assert exit_.value.code == 130
  err = capsys.readouterr().err
  assert err.strip().splitlines() == [
      'error: interrupted; nothing half-written is left: rerun the same command to resume (a '
      'training from its last finished epoch) or to start again']


def test_the_export_module_shim_runs_the_script_before_tensorflow_loads(tmp_path):
  """`python -m srnn_tf.export` runs the script before the module's own imports would load
  TensorFlow (with its startup chatter): a run that does not exist is answered in one line,
  TensorFlow never loaded."""
  result = subprocess.run([sys.executable, '-m', 'srnn_tf.export', f'--run={tmp_path}/none'],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
  assert (result.returncode, result.stderr) == (
      1, f'error: --run={tmp_path}/none: no such run directory or .keras file\n')
