"""What a user waits for, per checkout: the paper protocol on the four corpora, SMC over the
MuseData test set, and sampling, with the Bernoulli and the NADE emission.

    python -m benchmarks.user_time [--checkouts=../before,.] \
        [--output=results/benchmarks/user_time.md]

For each checkout (e.g. the commit before a speed change, `git worktree add ../before C`, and
this one) and each emission, one fresh worker process with that checkout's `srnn_tf` measures,
at the paper size on the srnn2016 data:

- **paper protocol**: per corpus, the time of a training step (median of 5 timings of 4
  steps, after warm-up) and of one validation pass over the validation split (the second
  pass: the first traces), then 50 epochs x (steps per epoch x step + validation), summed
  over the four corpora. Validation runs after every epoch in the protocol, so it counts.
- **SMC K=100**: `eval.py --bound=smc --num_particles=100` over the whole MuseData test set
  (the second call; the model is the trained `--eval_run` where it exists and has this
  emission, else an untrained paper-size SRNN: the time per particle step is the same).
- **sampling**: `model.generate` of one piece of `--sample_frames` frames (frames/s, second
  call).

Checkouts run one after the other, emission by emission, so pause trainings first; the
machine's drift (10-30 % within minutes here) is in each figure, so read a before/after ratio
of a few percent from `benchmarks.compare`, which alternates in turns, not from this table.
"""

import json
import os
import subprocess
import sys

from absl import flags

from srnn_tf import cli

_CHECKOUTS = flags.DEFINE_list('checkouts', ['.'], 'Checkouts to measure, the baseline first.')
_EMISSIONS = flags.DEFINE_list('emissions', ['bernoulli', 'nade'], 'Emissions to measure.')
_PARTICLES = flags.DEFINE_integer('num_particles', 100, 'K of the SMC measurement.')
_SAMPLE_FRAMES = flags.DEFINE_integer('sample_frames', 200, 'Length of the sampled piece.')
_EVAL_RUN = flags.DEFINE_string('eval_run', 'runs/muse_srnn2016_srnn_z100_d300',
                                'Trained MuseData run for SMC, where present.')
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the table (markdown) here.')
_DATA_DIR = cli.data_dir_flag()

# Runs in the worker, with argv: checkout, emission, K, frames, eval run, data dir. Uses only
# API that older checkouts have too.
_WORKER = r'''
import json, os, statistics, sys, time
checkout, emission, k, frames, eval_run, data_dir = sys.argv[1:]
sys.path.insert(0, os.path.abspath(checkout))
try:
  from srnn_tf.threads import set_threads
except ImportError:   # checkouts before srnn_tf/threads.py (2026-12-07)
  from srnn_tf.callbacks import set_threads
set_threads(1, 2)
import keras
from srnn_tf import bounds, configs, trainer
from srnn_tf.data import corpus as corpus_lib, pipeline

def timed(fn):
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start

out = {'corpora': {}}
for name in ('jsb', 'piano', 'nottingham', 'muse'):
  config = configs.get_config('paper', dataset=name, data_version='srnn2016',
                              data_dir=data_dir or None, emission=emission)
  corpus = corpus_lib.load_corpus(name, 'srnn2016', data_dir or None)
  ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len, config.batch_size)
  model = trainer.build_model(config, steps)
  batches = [{k: v.numpy() for k, v in b.items()} for b in ds.take(6)]
  for b in batches[:2]:
    model.train_on_batch(b)
  step = statistics.median(
      timed(lambda: [model.train_on_batch(b) for b in batches[2:6]]) / 4 for _ in range(5))
  valid = pipeline.eval_dataset(corpus.splits['valid'], config.batch_size)
  model.evaluate(valid, verbose=0)
  out['corpora'][name] = {'steps_per_epoch': steps, 'step_s': step,
                          'valid_s': timed(lambda: model.evaluate(valid, verbose=0))}
out['protocol_h'] = sum(50 * (c['steps_per_epoch'] * c['step_s'] + c['valid_s'])
                        for c in out['corpora'].values()) / 3600

model_path = os.path.join(eval_run, 'model.keras')
smc_model = None
if os.path.exists(model_path):
  loaded = keras.models.load_model(model_path)
  if getattr(loaded.frame, 'kind', 'bernoulli') == emission:
    smc_model, out['smc_model'] = loaded, eval_run
if smc_model is None:
  smc_model, out['smc_model'] = model, 'untrained'   # the last corpus's: MuseData's
test = corpus_lib.load_corpus('muse', 'srnn2016', data_dir or None).splits['test']
out['smc_frames'] = int(sum(len(s) for s in test))
bounds.evaluate_bound(smc_model, test[:2], 'smc', int(k), progress=False)
out['smc_s'] = timed(lambda: bounds.evaluate_bound(smc_model, test, 'smc', int(k),
                                                   progress=False))
# The same arguments twice: the first call traces (a new Python seed would trace again).
model.generate(int(frames), batch_size=1, seed=(0, 0))
out['sample_frames_per_s'] = int(frames) / timed(
    lambda: model.generate(int(frames), batch_size=1, seed=(0, 0)))
print('RESULT ' + json.dumps(out))
'''


def measure(checkout: str, emission: str) -> dict:
  print(f'  {checkout} {emission} ...', file=sys.stderr, flush=True)
  proc = subprocess.run(
      [sys.executable, '-c', _WORKER, checkout, emission, str(_PARTICLES.value),
       str(_SAMPLE_FRAMES.value), _EVAL_RUN.value, _DATA_DIR.value or ''],
      capture_output=True, text=True, cwd=os.getcwd(),
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
  lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
  if proc.returncode or not lines:
    raise RuntimeError(f'user_time worker for {checkout} ({emission}) failed:\n'
                       f'{proc.stderr[-3000:]}')
  return json.loads(lines[-1][len('RESULT '):])


def table(results: dict) -> str:
  """Markdown: one row per (emission, checkout)."""
  lines = ['| emission | checkout | paper protocol, 4 corpora (h) | of which validation '
           f'| SMC K={_PARTICLES.value}, MuseData test (s) | frames | model '
           '| sampling (frames/s) |', '|---|---|---|---|---|---|---|---|']
  for (emission, checkout), r in results.items():
    valid_h = sum(50 * c['valid_s'] for c in r['corpora'].values()) / 3600
    lines.append(f'| {emission} | `{checkout}` | {r["protocol_h"]:.2f} | {valid_h:.2f} '
                 f'| {r["smc_s"]:.0f} | {r["smc_frames"]:,} | {r["smc_model"]} '
                 f'| {r["sample_frames_per_s"]:,.0f} |')
  per_corpus = ['', 'Per corpus (s per training step / per validation pass / steps per epoch):']
  for (emission, checkout), r in results.items():
    per_corpus.append(f'- {emission}, `{checkout}`: ' + '; '.join(
        f'{name} {c["step_s"]:.3f} / {c["valid_s"]:.1f} / {c["steps_per_epoch"]}'
        for name, c in r['corpora'].items()))
  return '\n'.join(lines + per_corpus)


def main(argv):
  del argv
  results = {(e, c): measure(c, e) for e in _EMISSIONS.value for c in _CHECKOUTS.value}
  text = table(results)
  print(text)
  if _OUTPUT.value:
    os.makedirs(os.path.dirname(_OUTPUT.value) or '.', exist_ok=True)
    with open(_OUTPUT.value, 'w') as f:
      f.write(f'# python -m benchmarks.user_time --checkouts={",".join(_CHECKOUTS.value)}\n\n'
              f'{text}\n')


if __name__ == '__main__':
  cli.run(main)
