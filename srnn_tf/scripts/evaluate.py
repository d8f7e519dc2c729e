"""Evaluate a trained run on valid/test data: the ELBO per time step and its two terms.

    python eval.py --run=runs/jsb_srnn2016_srnn_z100_d300
    python eval.py --run=runs/.../model.keras --dataset=jsb --data_version=srnn2016 \
        --num_samples=10 --release_first_frame
    python eval.py --run=runs/jsb_srnn2016_srnn_z100_d300 --bound=smc --num_particles=100

Reports the paper's convention (each sequence's ELBO / its length, mean over sequences) and
total ELBO / total frames, with the reconstruction cross-entropy and KL separately, averaged
over --num_samples posterior samples. --release_first_frame (srnn2016 data) starts each test
sequence from the release's own first input frame `u_1`, as the paper's numbers were
measured: in some pieces (all of JSB's) that is the first target frame itself.
--bound=iwae|smc estimates log p(x) with K = --num_particles particles instead
(importance-weighted, or a resampling particle filter: tighter lower bounds than the ELBO).
--transpose=N evaluates the splits shifted by N semitones (keys pushed past the ends dropped
and counted).
Writes the numbers as JSON (default: <run>/eval_<bound>_<splits>.json).
"""

import os
import time

from absl import flags
from absl import logging

from srnn_tf import cli
from srnn_tf import limits
from srnn_tf.data import registry

_RUN = cli.run_flag()
_DATASET = flags.DEFINE_string('dataset', None, 'Corpus (default: the run\'s).')
_DATA_VERSION = flags.DEFINE_enum('data_version', None, registry.VERSIONS,
                                  'Data version (default: the run\'s).')
_DATA_DIR = cli.data_dir_flag()
_SPLITS = flags.DEFINE_list('splits', ['valid', 'test'], 'Splits to evaluate: some of '
                            f'{", ".join(registry.SPLITS)}.')
flags.register_validator('splits', lambda v: bool(v) and set(v) <= set(registry.SPLITS),
                         message=f'choose one or more of {", ".join(registry.SPLITS)}')
_BOUND = flags.DEFINE_enum('bound', 'elbo', ['elbo', 'iwae', 'smc'],
                           'Estimator: ELBO, IWAE or SMC (FIVO).')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 1, 'ELBO: posterior samples to average.',
                                    lower_bound=1)
_NUM_PARTICLES = flags.DEFINE_integer('num_particles', 100, 'IWAE/SMC: particles K.',
                                      lower_bound=1)
_ESS = flags.DEFINE_float('ess_threshold', 0.5, 'SMC: resample when ESS < this * K.',
                          lower_bound=0.0, upper_bound=1.0)
_RELEASE_U1 = flags.DEFINE_bool('release_first_frame', False,
                           'u_1 from the srnn2016 release\'s u_test (its first input frames, '
                           'the first target frame in some pieces), not silence.')
_TRANSPOSE = flags.DEFINE_integer(
    'transpose', 0, 'Evaluate the splits shifted by this many semitones (Johnson 2017\'s Table 2 '
    'is the test set in D, 2); keys shifted off the keyboard are dropped, counted and reported.',
    lower_bound=-87, upper_bound=87)
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 16, 'Sequences per evaluation batch.',
                                   lower_bound=1)
_SEED = cli.seed_flag('Seed of the posterior samples.')
_OUTPUT = flags.DEFINE_string('output', None, 'JSON output path (default: in the run dir).')
_RESULTS_DIR = cli.results_dir_flag('the JSON')
_OVERWRITE = cli.overwrite_results_flag()


def main(argv):
  del argv
  from srnn_tf import files, rundir
  splits = list(dict.fromkeys(_SPLITS.value))   # in the order given, each once
  suffix = ('_release_first_frame' if _RELEASE_U1.value else '') + (
      f'_transpose{_TRANSPOSE.value}' if _TRANSPOSE.value else '')
  output = _OUTPUT.value or _RUN.output_path(f'eval_{_BOUND.value}_{"_".join(splits)}{suffix}.json')
  if _BOUND.value != 'elbo':
    limits.particles(_NUM_PARTICLES.value)
  if _RUN.exists():       # a missing run gets load's message first
    if _RUN.preset is not None and not _OUTPUT.value:
      os.makedirs(os.path.dirname(output), exist_ok=True)   # ./<preset>/
    files.check_output_file(output)   # before the work, not after it
  run = _RUN.load()
  from srnn_tf import bounds
  from srnn_tf.data import transpose
  model = run.model
  if _RELEASE_U1.value and not model.reads_inputs:
    logging.warning('--release_first_frame: a %s reads no input frame; its numbers are the '
                    'same without it', type(model).__name__)
  evaluator = bounds.Evaluator(model)
  corpus = run.corpus(_DATA_DIR.value, _DATASET.value, _DATA_VERSION.value)
  dataset = _DATASET.value or run.config.dataset
  version = _DATA_VERSION.value or (run.config and run.config.data_version) or \
      registry.DEFAULT_VERSION
  results = {'run': _RUN.value, 'dataset': dataset, 'data_version': version,
             'release_first_frame': _RELEASE_U1.value, 'bound': _BOUND.value}
  if _TRANSPOSE.value:
    results['transpose'] = _TRANSPOSE.value
  for split in splits:
    seqs = corpus.splits[split]
    if not seqs:
      return cli.fail(f'{corpus.source}: the {split} split is empty; nothing to evaluate')
    dropped = None
    if _TRANSPOSE.value:
      shifted = [transpose.transpose(s, _TRANSPOSE.value) for s in seqs]
      seqs, dropped = [s for s, _ in shifted], sum(n for _, n in shifted)
      notes = sum(int(s.sum()) for s in corpus.splits[split])
      print(f'{split}: transposed by {_TRANSPOSE.value:+d} semitones; {dropped} of {notes} '
            'notes (key-frames) fell off the keyboard and were dropped')
    first = None
    if _RELEASE_U1.value:
      if split not in corpus.first_inputs:
        return cli.fail(f'--release_first_frame: {corpus.source} has no first input frames '
                        f'for the {split} split (only the srnn2016 release\'s test split has '
                        'them)')
      first = corpus.first_inputs[split]
    start = time.perf_counter()
    if _BOUND.value == 'elbo':   # the noise train.py's final evaluation drew: the same number
      model.reseed(bounds.evaluation_stream(split, _RELEASE_U1.value, _SEED.value))
      r = evaluator.evaluate_elbo(seqs, _NUM_SAMPLES.value, batch_size=_BATCH_SIZE.value,
                               first_inputs=first)
      print(f'{split}: ELBO/step {r["elbo_per_step"]:.4f} (per-sequence mean), '
            f'{r["elbo_total_per_step"]:.4f} (total/total); cross-entropy '
            f'{r["recon_per_step"]:.4f}, KL {r["kl_per_step"]:.4f}; {r["sequences"]} '
            f'sequences, {r["frames"]} frames, {r["num_samples"]} sample(s)')
    else:
      r = evaluator.evaluate_bound(seqs, _BOUND.value, _NUM_PARTICLES.value,
                                batch_size=_BATCH_SIZE.value, first_inputs=first,
                                ess_threshold=_ESS.value, seed=_SEED.value)
      print(f'{split}: {_BOUND.value.upper()} (K={_NUM_PARTICLES.value}) log p(x)/step '
            f'{r["log_p_per_step"]:.4f} (per-sequence mean), {r["log_p_total_per_step"]:.4f} '
            f'(total/total); {r["sequences"]} sequences, {r["frames"]} frames')
    # Wall time with tracing, as a user waits for it (benchmarks.nade times the work alone).
    r['seconds'] = round(time.perf_counter() - start, 1)
    if dropped is not None:
      r['transpose_dropped_notes'] = dropped
    results[split] = r
  files.write_json(output, results)
  print(f'wrote {output}')
  if _RESULTS_DIR.value and _RUN.preset is None and os.path.isdir(run.path):
    name = run.name
    rundir.copy_results(_RESULTS_DIR.value, {output: f'{name}.{os.path.basename(output)}'},
                        _OVERWRITE.value)
  return 0


def run():
  """The `srnn-eval` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
