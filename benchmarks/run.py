"""The benchmark suite: one table of training and evaluation speed, FLOPs and memory.

    python -m benchmarks.run [--quick] [--baseline=../before] [--output=results/benchmarks/suite.md]

Each measurement runs in its own process (so its peak RSS is its own, and thread settings
apply from the start); this process only collects and prints. Read the table as follows
(BUILD_NOTES, "Reading the benchmark table", says more):

- time steps/s: training throughput, batch x frames per second, median after warm-up, on
  real JSB (srnn2016) batches of the preset's size; threads intra-op 1 / inter-op 2.
- MFLOP/step: FLOPs per time step of forward + backward, counted by TF's profiler;
  GFLOP/s = MFLOP/step x time steps/s / 1000, and its percentage of the fp32 matmul peak
  measured in the same suite run (a 2048^3 matmul on all cores).
- package / oracle: the package's SRNN step against the per-step oracle of the tests,
  alternating in one process.
- evaluation: `eval.py --bound` on the longest MuseData test pieces, K particles.
- the PyTorch peer: `benchmarks.peer`'s rounds (also written to `peer.md` beside `--output`).
- the user's time: `benchmarks.user_time` (also `user_time.md`); `--baseline=../before` adds
  an earlier checkout's figures, before this one's.
"""

import json
import os
import subprocess
import sys

from absl import flags

from srnn_tf import cli
from srnn_tf import configs

_QUICK = flags.DEFINE_bool('quick', False, 'Fewer, shorter measurements (a smoke run).')
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the table (markdown) here.')
_DATA_DIR = cli.data_dir_flag()
_PARTICLES = flags.DEFINE_integer('num_particles', 32, 'K for the evaluation benchmarks.')
_PIECES = flags.DEFINE_integer('eval_pieces', 4, 'Longest MuseData test pieces evaluated.')
_EVAL_RUN = flags.DEFINE_string('eval_run', 'runs/muse_srnn2016_srnn_z100_d300',
                                'Trained run for the evaluation benchmarks (SMC resamples '
                                'as often as the trained posterior needs); if missing, an '
                                'untrained paper-size SRNN.')
_BASELINE = flags.DEFINE_string('baseline', None, 'A checkout of an earlier commit (`git '
                                'worktree add ../before C`): the user\'s-time table then '
                                'measures it too, before this checkout.')
_JOB = flags.DEFINE_string('job', None, 'Internal: run one measurement, print its JSON.')

CORPORA = configs.SMALLEST_FIRST


def _job(spec: str) -> dict:
  """One measurement in this (fresh) process: `peak`, `train:<model>:<config>`, `oracle`,
  `eval:<bound>`."""
  from benchmarks import measure
  from srnn_tf import threads
  kind, *args = spec.split(':')
  quick = _QUICK.value
  if kind == 'peak':
    threads.set_threads(0, 0)   # TF's defaults: one matmul uses every core
    return {'matmul_2048': measure.matmul_gflops(2048, 2048, 2048, 1 if quick else 3),
            'matmul_16x300x900': measure.matmul_gflops(16, 300, 900, 1 if quick else 3)}
  if kind == 'peak1':
    threads.set_threads(1, 2)   # as in training: each op on one core
    return {'matmul_2048': measure.matmul_gflops(2048, 2048, 2048, 1 if quick else 3),
            'matmul_16x300x900': measure.matmul_gflops(16, 300, 900, 1 if quick else 3)}
  threads.set_threads(1, 2)
  if kind == 'train':
    model_name, config_name = args
    model, batches = measure.model_and_batches(model_name, config_name, _DATA_DIR.value)
    rate, rates = measure.train_throughput(model, batches, 5 if quick else 30,
                                           2 if quick else 5)
    out = {'steps_per_sec': rate, 'rates': rates, 'peak_rss_mib': measure.peak_rss_mib(),
           'parameters': model.count_params(), **measure.train_flops_per_step(model)}
    if (model_name, config_name) == ('srnn', 'paper'):
      out['steps_per_epoch'] = _steps_per_epoch(model_name, config_name)
    return out
  if kind == 'oracle':
    return measure.oracle_ratio('paper', 3 if quick else 10, 2 if quick else 5,
                                _DATA_DIR.value)
  if kind == 'precision':
    return measure.precision_ratio(3 if quick else 10, 2 if quick else 4, _DATA_DIR.value)
  if kind == 'eval':
    from srnn_tf import configs, finished, rundir, trainer
    if os.path.exists(os.path.join(_EVAL_RUN.value, rundir.MODEL_KERAS)):
      model, source = finished.load_run(_EVAL_RUN.value).model, _EVAL_RUN.value
    else:
      model, source = trainer.build_model(configs.get_config('paper'), 1), 'untrained'
    pieces = measure.longest_test_pieces('muse', 1 if quick else _PIECES.value,
                                         _DATA_DIR.value)
    k = 1 if args[0] == 'elbo' else 4 if quick else _PARTICLES.value
    return {**measure.eval_throughput(model, pieces, args[0], k, 1 if quick else 2),
            'num_particles': k, 'pieces': len(pieces), 'model': source,
            'peak_rss_mib': measure.peak_rss_mib()}
  raise ValueError(f'unknown job {spec!r}')


def _steps_per_epoch(model_name, config_name) -> dict:
  """Training steps per epoch of each srnn2016 corpus at the preset's batch and window."""
  from srnn_tf.data import corpus as corpus_lib, pipeline
  config = configs.get_config(config_name, model=model_name)
  return {name: pipeline.stream_dataset(
      corpus_lib.load_corpus(name, 'srnn2016', _DATA_DIR.value).splits['train'],
      config.seq_len, config.batch_size)[1] for name in CORPORA}


def _job_command(spec: str) -> list[str]:
  cmd = [sys.executable, '-m', 'benchmarks.run', f'--job={spec}',
         f'--num_particles={_PARTICLES.value}', f'--eval_pieces={_PIECES.value}',
         f'--eval_run={_EVAL_RUN.value}', '--quick' if _QUICK.value else '--noquick']
  if _DATA_DIR.value:
    cmd.append(f'--data_dir={_DATA_DIR.value}')
  return cmd


def _run_job(spec: str, copies: int = 1) -> dict:
  """Runs a measurement in a fresh process; with `copies` > 1, that many at once (as
  `experiments.sweep --jobs` would) and returns the list of their results."""
  print(f'  {spec}{f" x{copies} at once" if copies > 1 else ""} ...', file=sys.stderr,
        flush=True)
  procs = [subprocess.Popen(_job_command(spec), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
           for _ in range(copies)]
  results = []
  for proc in procs:
    out, err = proc.communicate()
    lines = [l for l in out.splitlines() if l.startswith('RESULT ')]
    if proc.returncode or not lines:
      raise RuntimeError(f'benchmark job {spec} failed:\n{err[-3000:]}')
    results.append(json.loads(lines[-1][len('RESULT '):]))
  return results[0] if copies == 1 else results


def table(r: dict) -> str:
  """The suite's markdown table from the jobs' results."""
  peak = r['peak']['matmul_2048']
  lines = [
      f'fp32 matmul peak (2048^3, all cores): **{peak:.0f} GFLOP/s** '
      f'({r["peak1"]["matmul_2048"]:.0f} with training\'s threads: intra-op 1 / inter-op 2); '
      f'independent [16, 300] x [300, 900] products (one recurrent step\'s size): '
      f'{r["peak"]["matmul_16x300x900"]:.0f} GFLOP/s ({r["peak1"]["matmul_16x300x900"]:.0f} '
      'with training\'s threads)', '',
      '| model | config | params | time steps/s | MFLOP/step (fwd+bwd) | GFLOP/s '
      '| % of peak | peak RSS MiB |', '|---|---|---|---|---|---|---|---|']
  for key, v in r.items():
    if key.startswith('train:'):
      _, model, config = key.split(':')
      gflops = v['train_flops_per_step'] * v['steps_per_sec'] / 1e9
      lines.append(f'| {model} | {config} | {v["parameters"]:,} | {v["steps_per_sec"]:,.0f} '
                   f'| {v["train_flops_per_step"] / 1e6:.2f} | {gflops:.1f} '
                   f'| {100 * gflops / peak:.0f}% | {v["peak_rss_mib"]:,.0f} |')
  o = r['oracle']
  flops = r['train:srnn:paper']['train_flops_per_step']
  lines += ['', f'SRNN paper, side by side: package **{o["package"]:,.0f}** time steps/s, '
            f'per-step oracle {o["oracle"]:,.0f}: ratio **{o["ratio"]:.2f}x** (the package at '
            f'{100 * flops * o["package"] / 1e9 / peak:.0f}% of the matmul peak; 2.5x the '
            f'oracle would need {100 * 2.5 * flops * o["oracle"] / 1e9 / peak:.0f}%).']
  if 'precision' in r:
    p = r['precision']
    lines += ['', f'SRNN paper, `--train_precision=bfloat16` against float32 side by side: '
              f'{p["bfloat16"]:,.0f} vs {p["float32"]:,.0f} time steps/s, '
              f'**{p["ratio"]:.2f}x**.']
  if 'concurrent:srnn:paper' in r:
    rates = [v['steps_per_sec'] for v in r['concurrent:srnn:paper']]
    alone = r['train:srnn:paper']['steps_per_sec']
    lines += ['', f'Two SRNN paper trainings at once (`experiments.sweep --jobs=2`): '
              f'{" + ".join(f"{x:,.0f}" for x in rates)} = {sum(rates):,.0f} time steps/s, '
              f'**{sum(rates) / alone:.2f}x** one training alone ({alone:,.0f}).']
  srnn = r['train:srnn:paper']
  per_epoch = srnn['steps_per_epoch']
  seconds = {c: 50 * n * 16 * 100 / srnn['steps_per_sec'] for c, n in per_epoch.items()}
  lines += ['', 'Paper protocol (50 epochs, SRNN paper size) estimated from that throughput '
            '(training steps only, no validation): ' + ', '.join(
                f'{c} {per_epoch[c]} steps/epoch {s / 60:.0f} min' for c, s in seconds.items())
            + f'; **total {sum(seconds.values()) / 3600:.1f} h**.']
  lines += ['', '| evaluation (MuseData, longest test pieces) | K | pieces | frames '
            '| time steps/s | particle steps/s | peak RSS MiB |', '|---|---|---|---|---|---|---|']
  for key, v in r.items():
    if key.startswith('eval:'):
      lines.append(f'| {key[5:]} ({v["model"]}) | {v["num_particles"]} | {v["pieces"]} '
                   f'| {v["frames"]:,} | {v["steps_per_sec"]:,.0f} '
                   f'| {v["particle_steps_per_sec"]:,.0f} | {v["peak_rss_mib"]:,.0f} |')
  return '\n'.join(lines)


def _peer_table() -> str:
  """`benchmarks.peer`'s rounds against the PyTorch peer (writing `peer.md` beside
  `--output`), as a section of the suite's text."""
  print('  peer ...', file=sys.stderr, flush=True)
  command = [sys.executable, '-m', 'benchmarks.peer', f'--rounds={1 if _QUICK.value else 3}']
  if _OUTPUT.value:
    command.append(f'--output={os.path.join(os.path.dirname(_OUTPUT.value), "peer.md")}')
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
  if _DATA_DIR.value:
    env['SRNN_TF_DATA_DIR'] = _DATA_DIR.value
  out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
  rows = [l for l in out.splitlines() if l.startswith('|') or l.startswith('peer skipped')]
  return '\n'.join(['Against the PyTorch peer (the DVAE toolkit\'s SRNN, `benchmarks.peer`: '
                    'alternating processes, the same JSB batches, paper configuration):', '',
                    *rows])


def _user_time_table() -> str:
  """`benchmarks.user_time` (writing `user_time.md` beside `--output`): the paper protocol,
  SMC K=100 over the MuseData test set and sampling, with both emissions; with `--baseline`,
  for that checkout too."""
  print('  user_time ...', file=sys.stderr, flush=True)
  checkouts = ([_BASELINE.value] if _BASELINE.value else []) + ['.']
  command = [sys.executable, '-m', 'benchmarks.user_time', f'--checkouts={",".join(checkouts)}',
             f'--eval_run={_EVAL_RUN.value}']
  if _QUICK.value:
    command += ['--emissions=bernoulli', '--num_particles=10']
  if _DATA_DIR.value:
    command.append(f'--data_dir={_DATA_DIR.value}')
  if _OUTPUT.value:
    command.append(f'--output={os.path.join(os.path.dirname(_OUTPUT.value), "user_time.md")}')
  out = subprocess.run(command, capture_output=True, text=True, check=True,
                       env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}).stdout
  rows = [l for l in out.splitlines() if l.startswith(('|', '-', 'Per corpus'))]
  return '\n'.join(['What a user waits for (`benchmarks.user_time`; paper size, srnn2016):', '',
                    *rows])


def main(argv):
  del argv
  if _JOB.value:
    print('RESULT ' + json.dumps(_job(_JOB.value)))
    return
  configs_ = ('paper',) if _QUICK.value else ('paper', 'small')
  trainings = [f'train:{m}:{c}' for c in configs_ for m in ('srnn', 'vrnn', 'rnn')]
  specs = (['peak', 'peak1'] + trainings
           + ['oracle', 'precision', 'eval:elbo', 'eval:iwae', 'eval:smc'])
  results = {spec: _run_job(spec) for spec in specs}
  # Two trainings at once share the cores: is the sum faster than one alone?
  results['concurrent:srnn:paper'] = _run_job('train:srnn:paper', copies=2)
  text = table(results) + '\n\n' + _peer_table() + '\n\n' + _user_time_table()
  print(text)
  if _OUTPUT.value:
    os.makedirs(os.path.dirname(_OUTPUT.value) or '.', exist_ok=True)
    with open(_OUTPUT.value, 'w') as f:
      f.write(f'# python -m benchmarks.run{" --quick" if _QUICK.value else ""}\n\n{text}\n')
    with open(os.path.splitext(_OUTPUT.value)[0] + '.json', 'w') as f:
      json.dump(results, f, indent=2)


if __name__ == '__main__':
  cli.run(main)
