"""srnn_tf's SRNN training throughput against what a user would pick instead, the DVAE
toolkit's PyTorch SRNN (`../shared/peers/dvae`), side by side.

    python -m benchmarks.peer [--rounds=3] [--output=results/benchmarks/peer.md]

Each round runs ours (`benchmarks.throughput --model=srnn --config=paper`) and then the peer
(its own harness, `bench.py 2 4 500`: LSTMs of 300, z 100, one dense layer of 500 per MLP,
3.0 M parameters against our 3.26 M), each in a fresh process on the same real JSB batches
(srnn2016, 16 x 100 frames), A B A B ...; the ratio of each round and their median are
printed. The machine is shared by nothing else while it runs, or every figure is off: pause
trainings first (`kill -STOP`).

The peer is GPL-3.0: it runs as a separate process and is never imported. It needs torch
(`pip install torch==2.13.0+cpu`) in `--peer_python`'s environment; without it this says so
and measures ours alone.
"""

import json
import os
import re
import statistics
import subprocess
import sys

from absl import flags

from srnn_tf import cli

_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Rounds of ours then the peer.', lower_bound=1)
_PEER_DIR = flags.DEFINE_string('peer_dir', os.path.join('..', 'shared', 'peers', 'dvae'),
                                'The peer\'s folder (bench.py, dvae_srnn.py).')
_PEER_PYTHON = flags.DEFINE_string('peer_python', sys.executable,
                                   'The Python (with torch) that runs the peer.')
_PEER_ARGS = flags.DEFINE_list('peer_args', ['2', '4', '500'],
                               'bench.py THREADS EPOCHS DENSE (2 threads: both cores).')
_OURS_ARGS = flags.DEFINE_list('ours_args', ['--model=srnn', '--config=paper', '--steps=30',
                                             '--repeats=5'], 'benchmarks.throughput flags.')
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the table here (markdown).')


def _ours() -> float:
  out = subprocess.run([sys.executable, '-m', 'benchmarks.throughput', *_OURS_ARGS.value],
                       capture_output=True, text=True, check=True).stdout
  return float(re.search(r': ([\d,]+) time steps/s', out).group(1).replace(',', ''))


def _peer() -> float:
  out = subprocess.run([_PEER_PYTHON.value, os.path.join(_PEER_DIR.value, 'bench.py'),
                        *_PEER_ARGS.value], capture_output=True, text=True, check=True).stdout
  summary = [json.loads(line) for line in out.splitlines() if '"summary"' in line][-1]
  return float(summary['median_steps_per_s'])


def peer_unavailable() -> str | None:
  """None when the peer can run here, else why not."""
  if not os.path.exists(os.path.join(_PEER_DIR.value, 'bench.py')):
    return f'no peer harness at {_PEER_DIR.value}/bench.py'
  probe = subprocess.run([_PEER_PYTHON.value, '-c', 'import torch'], capture_output=True)
  if probe.returncode:
    return (f'torch is not installed for {_PEER_PYTHON.value} '
            '(pip install torch==2.13.0+cpu)')
  return None


def main(argv):
  del argv
  problem = peer_unavailable()
  if problem:
    print(f'peer skipped: {problem}; measuring srnn_tf alone')
  rows = []
  for r in range(_ROUNDS.value):
    ours = _ours()
    peer = None if problem else _peer()
    rows.append((ours, peer))
    print(f'round {r + 1}: srnn_tf {ours:,.0f} time steps/s' +
          (f', peer {peer:,.0f}, ratio {ours / peer:.2f}x' if peer else ''), flush=True)
  lines = ['| round | srnn_tf (time steps/s) | DVAE SRNN, PyTorch | ratio |', '|---|---|---|---|']
  lines += [f'| {i + 1} | {o:,.0f} | ' + (f'{p:,.0f} | {o / p:.2f}x |' if p else '- | - |')
            for i, (o, p) in enumerate(rows)]
  if not problem:
    median = statistics.median(o / p for o, p in rows)
    lines.append(f'| median | {statistics.median(o for o, _ in rows):,.0f} | '
                 f'{statistics.median(p for _, p in rows):,.0f} | **{median:.2f}x** |')
    print(f'median ratio srnn_tf / peer: {median:.2f}x over {len(rows)} rounds')
  print('\n'.join(lines))
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      f.write('# srnn_tf against the PyTorch peer (DVAE SRNN), side by side\n\n'
              'Written by `python -m benchmarks.peer`: training time steps/s at the paper '
              'configuration on real JSB batches, alternating processes.\n\n' +
              '\n'.join(lines) + '\n')
    print(f'wrote {_OUTPUT.value}')


if __name__ == '__main__':
  cli.run(main)
