"""Training throughput of two checkouts of srnn_tf, side by side, in turns of a few steps.

    python -m benchmarks.compare --a=../before --b=. [--rounds=20] [--steps=8]
    python -m benchmarks.compare --a=../before --b=. --objective=fivo   # FIVO training, K=4

This machine's speed drifts by 10-30 % within a minute, so two runs one after the other
compare the machine's moods as much as the code. Here both checkouts are built once, each
in its own worker process (with its own `srnn_tf` on `sys.path`), and take turns: A runs
`--steps` training steps on the same real JSB batches, then B, and so on for `--rounds`.
Each turn's rate is printed; the summary is the median of the per-round ratios B / A.
Pause trainings first (`kill -STOP`): the workers share the cores with nothing else.

Make a checkout of an older commit with `git worktree add ../before COMMIT`.
"""

import json
import os
import statistics
import subprocess
import sys

from absl import flags

from benchmarks import measure
from srnn_tf import cli

_A = flags.DEFINE_string('a', None, 'Checkout A (the baseline).', required=True)
_B = flags.DEFINE_string('b', '.', 'Checkout B (the change).')
_ROUNDS = flags.DEFINE_integer('rounds', 20, 'Turns of each.', lower_bound=1)
_STEPS = flags.DEFINE_integer('steps', 8, 'Training steps per turn.', lower_bound=1)
_MODEL = flags.DEFINE_enum('model', 'srnn', ['rnn', 'vrnn', 'srnn'], 'Model.')
_CONFIG = flags.DEFINE_string('config', 'paper', 'Size preset.')
_OBJECTIVE = flags.DEFINE_enum('objective', 'elbo', ['elbo', 'iwae', 'fivo'],
                               'Training objective (iwae and fivo train on independent windows).')
_PARTICLES = flags.DEFINE_integer('num_particles', 4, 'K for --objective=iwae|fivo.')
_DATA_DIR = cli.data_dir_flag()

# Runs in the worker: builds the model from its checkout's benchmarks.measure, then answers
# each line "N" on stdin with the time steps/s of N training steps.
_WORKER = r'''
import json, os, sys, time
sys.path.insert(0, os.path.abspath(sys.argv[1]))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
try:
  from srnn_tf.threads import set_threads
except ImportError:   # checkouts before srnn_tf/threads.py (2026-12-07)
  from srnn_tf.callbacks import set_threads
set_threads(1, 2)
from benchmarks import measure
model, batches = measure.model_and_batches(sys.argv[2], sys.argv[3], sys.argv[4] or None,
                                           **json.loads(sys.argv[5]))
frames = int(batches[0]['mask'].size)
for b in batches[:3]:
  model.train_on_batch(b)
print('ready', flush=True)
i = 0
for line in sys.stdin:
  n = int(line)
  start = time.perf_counter()
  for _ in range(n):
    model.train_on_batch(batches[i % len(batches)])
    i += 1
  print(n * frames / (time.perf_counter() - start), flush=True)
'''


def _start(checkout):
  overrides = json.dumps(measure.objective_overrides(_OBJECTIVE.value, _PARTICLES.value))
  worker = subprocess.Popen(
      [sys.executable, '-c', _WORKER, checkout, _MODEL.value, _CONFIG.value,
       _DATA_DIR.value or '', overrides], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
      stderr=subprocess.DEVNULL, text=True, cwd=checkout,
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
  if worker.stdout.readline().strip() != 'ready':
    raise RuntimeError(f'the worker for {checkout} did not start')
  return worker


def _turn(worker, steps):
  worker.stdin.write(f'{steps}\n')
  worker.stdin.flush()
  return float(worker.stdout.readline())


def main(argv):
  del argv
  workers = [_start(_A.value), _start(_B.value)]
  ratios = []
  try:
    for r in range(_ROUNDS.value):
      a, b = (_turn(w, _STEPS.value) for w in workers)
      ratios.append(b / a)
      print(f'round {r + 1}: A {a:,.0f}  B {b:,.0f} time steps/s  B/A {b / a:.3f}', flush=True)
  finally:
    for w in workers:
      w.stdin.close()
      w.wait()
  q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
  print(f'{_MODEL.value} {_CONFIG.value} {_OBJECTIVE.value}: '
        f'B/A median {statistics.median(ratios):.3f} '
        f'(quartiles {q[0]:.3f}-{q[2]:.3f}) over {len(ratios)} rounds of {_STEPS.value} steps; '
        f'A={_A.value} B={_B.value}')


if __name__ == '__main__':
  cli.run(main)
