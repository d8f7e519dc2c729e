"""CPU seconds per test: a pytest plugin, and the per-file summary of what it recorded.

    CPUPROF_OUT=/tmp/cpu.jsonl PYTHONPATH=benchmarks pytest -q -n 2 --dist loadfile -p cpuprof tests
    python -m benchmarks.cpuprof /tmp/cpu.jsonl          # per file, costliest first

Per test, the worker's own CPU (user + sys) and that of its children it waited for
(`getrusage`), so a test that runs train.py in a subprocess is charged for it. Wall times per
file mislead under `-n 2` (a file that starts subprocesses slows the other worker's file);
CPU seconds add up. Trainings running beside the suite inflate every figure.
"""

import collections
import json
import os
import resource
import sys
import time

import pytest


def _cpu():
  own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN))
  return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
  del nextitem
  before, start = _cpu(), time.time()
  yield
  after = _cpu()
  with open(os.environ.get('CPUPROF_OUT', 'cpuprof.jsonl'), 'a') as f:
    f.write(json.dumps({'test': item.nodeid, 'self': round(after[0] - before[0], 2),
                        'children': round(after[1] - before[1], 2),
                        'wall': round(time.time() - start, 2)}) + '\n')


def main(path):
  per_file, tests = collections.defaultdict(float), collections.Counter()
  with open(path) as f:
    for line in f:
      record = json.loads(line)
      name = record['test'].split('::')[0]
      per_file[name] += record['self'] + record['children']
      tests[name] += 1
  for name, cpu in sorted(per_file.items(), key=lambda item: -item[1]):
    print(f'{cpu:8.0f}  {tests[name]:4d} tests  {name}')
  print(f'{sum(per_file.values()):8.0f}  {sum(tests.values()):4d} tests  total')


if __name__ == '__main__':
  main(sys.argv[1])
