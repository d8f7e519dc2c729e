"""The SRNN's training throughput measured three ways, side by side: which figure is what.

    python -m benchmarks.agreement [--rounds=3] [--output=results/benchmarks/agreement.md]

Each round runs, each in a fresh process, one after the other (A B C A B C ...):

- **A, `benchmarks.throughput`**: the srnn_tf side of `benchmarks.peer`.
- **B, `benchmarks.run --job=train:srnn:paper`**: the suite table's row.
- **C, `train.py`**: what a user gets. A paper-size SRNN trains `--epochs` epochs on JSB
  (srnn2016) through `model.fit` on the tf.data pipeline with the run's callbacks, and the
  figure is the median over epochs 2.. of the run's own `steps_per_sec` (the training time
  of each epoch, validation excluded; the first epoch traces).

A and B call the same code (`measure.train_throughput`: `train_on_batch` on the same real
batches after warm-up, intra-op 1 / inter-op 2 threads); a gap between them in one round is
this machine's drift. C adds what `fit` does around the step. Pause trainings first
(`kill -STOP`): every figure shares the cores with whatever else runs.
"""

import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

from absl import flags

from srnn_tf import cli

_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Rounds of A, B and C.', lower_bound=1)
_EPOCHS = flags.DEFINE_integer('epochs', 4, 'Epochs of the train.py run (C).', lower_bound=2)
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the table here (markdown).')
_DATA_DIR = cli.data_dir_flag()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(command: list[str]) -> str:
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
  if _DATA_DIR.value:
    env['SRNN_TF_DATA_DIR'] = _DATA_DIR.value
  return subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT,
                        env=env).stdout


def throughput_script() -> float:
  out = _run([sys.executable, '-m', 'benchmarks.throughput', '--model=srnn', '--config=paper'])
  return float(re.search(r': ([\d,]+) time steps/s', out).group(1).replace(',', ''))


def suite_job() -> float:
  out = _run([sys.executable, '-m', 'benchmarks.run', '--job=train:srnn:paper'])
  line = [l for l in out.splitlines() if l.startswith('RESULT ')][-1]
  return json.loads(line[len('RESULT '):])['steps_per_sec']


def user_training() -> float:
  with tempfile.TemporaryDirectory() as folder:
    run = os.path.join(folder, 'run')
    _run([sys.executable, 'train.py', '--dataset=jsb', '--data_version=srnn2016',
          f'--epochs={_EPOCHS.value}', f'--output_dir={run}', '--results_dir='])
    with open(os.path.join(run, 'history.csv')) as f:
      rates = [float(row['steps_per_sec']) for row in csv.DictReader(f)]
  return statistics.median(rates[1:])


def main(argv):
  del argv
  ways = (('A benchmarks.throughput', throughput_script), ('B benchmarks.run job', suite_job),
          ('C train.py (fit)', user_training))
  rows = []
  for r in range(_ROUNDS.value):
    row = []
    for name, measure in ways:
      row.append(measure())
      print(f'round {r + 1}: {name} {row[-1]:,.0f} time steps/s', flush=True)
    rows.append(row)
  lines = ['| round | A `benchmarks.throughput` | B `benchmarks.run` job | C `train.py` (fit) '
           '| B / A | C / A |', '|---|---|---|---|---|---|']
  lines += [f'| {i + 1} | {a:,.0f} | {b:,.0f} | {c:,.0f} | {b / a:.2f} | {c / a:.2f} |'
            for i, (a, b, c) in enumerate(rows)]
  medians = [statistics.median(col) for col in zip(*rows)]
  lines.append(f'| median | {medians[0]:,.0f} | {medians[1]:,.0f} | {medians[2]:,.0f} '
               f'| {statistics.median(b / a for a, b, _ in rows):.2f} '
               f'| {statistics.median(c / a for a, _, c in rows):.2f} |')
  print('\n'.join(lines))
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      f.write('# The SRNN paper configuration\'s training throughput, three ways\n\n'
              'Written by `python -m benchmarks.agreement`: time steps (batch x frames) per '
              'second on JSB (srnn2016), fresh processes in turns A B C, trainings paused.\n\n'
              + '\n'.join(lines) + '\n')
    print(f'wrote {_OUTPUT.value}')


if __name__ == '__main__':
  cli.run(main)
