"""Training under tf.distribute takes the same step as on one device: same loss, same updated
weights (the gradients are summed across replicas before clipping, the loss is normalised by
the global batch's frames, and the training noise is a function of (seed, step))."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

HELPER = pathlib.Path(__file__).with_name('distributed_step.py')


# The Bernoulli emission: what the strategy changes (the gradients summed across replicas, the
# loss normalised by the global batch's frames, the noise a function of seed and step) is the
# base class's train step, the same for every emission.
EMISSIONS = ('bernoulli',)


def _start(kind, out, emissions=('bernoulli',), env=None):
  return subprocess.Popen([sys.executable, str(HELPER), kind, str(out), ','.join(emissions)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc, out, emissions=('bernoulli',)):
  """{emission: npz} of the helper's process `proc` writing to `out`."""
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 0, err[-3000:]
  return {e: np.load(f'{out}-{e}.npz') for e in emissions}


@pytest.fixture(scope='module')
def single_and_mirrored(tmp_path_factory):
  """The step of each emission on one device and under MirroredStrategy over two, computed
  side by side: ({emission: npz}, {emission: npz})."""
  folder = tmp_path_factory.mktemp('steps')
  procs = [(_start(kind, folder / kind, EMISSIONS), folder / kind)
           for kind in ('single', 'mirrored')]
  return tuple(_finish(proc, out, EMISSIONS) for proc, out in procs)


@pytest.fixture(scope='module')
def single(single_and_mirrored):
  return single_and_mirrored[0]


@pytest.mark.parametrize('emission', EMISSIONS)
def test_mirrored_strategy_step_equals_single_device_step(emission, single_and_mirrored):
  single, mirrored = (steps[emission] for steps in single_and_mirrored)
  assert int(single['replicas']) == 1 and int(mirrored['replicas']) == 2
  n = len([k for k in single.files if k.startswith('w_')])
  for i in range(n):
    np.testing.assert_array_equal(single[f'init_{i}'], mirrored[f'init_{i}'])
    np.testing.assert_allclose(mirrored[f'w_{i}'], single[f'w_{i}'], atol=1e-5)
    assert not np.allclose(single[f'w_{i}'], single[f'init_{i}'])  # the step did move it
  np.testing.assert_allclose(mirrored['loss'], single['loss'], rtol=1e-5)


def test_multi_worker_step_equals_single_device_step(tmp_path, single):
  import json
  import os
  import socket
  ports = []
  for _ in range(2):
    with socket.socket() as s:
      s.bind(('127.0.0.1', 0))
      ports.append(s.getsockname()[1])
  cluster = {'worker': [f'127.0.0.1:{p}' for p in ports]}
  workers = [_start('multi_worker', tmp_path / f'worker{index}', env=dict(
      os.environ, TF_CONFIG=json.dumps({'cluster': cluster,
                                        'task': {'type': 'worker', 'index': index}})))
             for index in range(2)]
  results = [_finish(w, tmp_path / f'worker{index}')['bernoulli']
             for index, w in enumerate(workers)]
  single = single['bernoulli']
  n = len([k for k in single.files if k.startswith('w_')])
  for worker in results:
    assert int(worker['replicas']) == 2
    np.testing.assert_allclose(worker['loss'], single['loss'], rtol=1e-5)
    for i in range(n):
      np.testing.assert_allclose(worker[f'w_{i}'], single[f'w_{i}'], atol=1e-5)
