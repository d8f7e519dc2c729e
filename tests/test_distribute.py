"""Training under tf.distribute takes the same step as on one device: same loss, same updated
weights (the gradients are summed across replicas before clipping, the loss is normalised by
the global batch's frames, and the training noise is a function of (seed, step))."""

import pathlib
import subprocess
import sys

import numpy as np

HELPER = pathlib.Path(__file__).with_name('distributed_step.py')


def _run(kind, out):
  result = subprocess.run([sys.executable, str(HELPER), kind, str(out)], capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  return np.load(out)


def test_mirrored_strategy_step_equals_single_device_step(tmp_path):
  single = _run('single', tmp_path / 'single.npz')
  mirrored = _run('mirrored', tmp_path / 'mirrored.npz')
  assert int(single['replicas']) == 1 and int(mirrored['replicas']) == 2
  n = len([k for k in single.files if k.startswith('w_')])
  for i in range(n):
    np.testing.assert_array_equal(single[f'init_{i}'], mirrored[f'init_{i}'])
    np.testing.assert_allclose(mirrored[f'w_{i}'], single[f'w_{i}'], atol=1e-5)
    assert not np.allclose(single[f'w_{i}'], single[f'init_{i}'])  # the step did move it
  np.testing.assert_allclose(mirrored['loss'], single['loss'], rtol=1e-5)
