"""Estimators of log p(x) over whole sequences, in the paper's reporting conventions.

* **ELBO**: one posterior sample, the KL in closed form (`evaluate_elbo`).
* **IWAE** (Burda et al. 2016): `log (1/K) sum_k w_k`, `w_k = p(x, z^k) / q(z^k | x)` over
  K whole z-chains from q.
* **SMC / FIVO** (Maddison et al. 2017): a particle filter with q as the proposal that
  resamples (multinomially) when the effective sample size falls below a fraction of K.

IWAE and SMC are one algorithm here: `smc.particle_log_likelihood` runs K particles through the
z chain step by step, accumulating `log Z_t = log sum_k wbar_{t-1}^k alpha_t^k`; without
resampling the sum telescopes to IWAE's log-mean-exp of whole-chain weights. Memory is
`O(B K Z)` per step whatever the length, so 3,400-frame pieces with K = 100+ fit. All three
are lower bounds of log p(x) in expectation, and exp of the IWAE/SMC estimates is unbiased
for p(x). For the RNN, log p(x) is exact and every estimator returns it.

The paper reports the *test ELBO per time step*: each sequence's ELBO divided by its length,
then the mean over sequences. We report that (`*_per_step`) and the total over the total
number of frames (`*_total_per_step`), with the ELBO's reconstruction (cross-entropy) and KL
terms separately in both conventions.
"""

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from srnn_tf import compiled
from srnn_tf import limits
from srnn_tf import smc
from srnn_tf.smc import particle_log_likelihood  # noqa: F401  (part of this module's API)
from srnn_tf.data import pipeline
from srnn_tf.keyboard import NUM_KEYS

_FEATURES = {'x': tf.TensorSpec([None, None, NUM_KEYS], tf.float32),
             'u': tf.TensorSpec([None, None, NUM_KEYS], tf.float32),
             'mask': tf.TensorSpec([None, None], tf.float32)}


def report(per_seq) -> dict:
  """Per-time-step numbers in both conventions from `per_sequence_elbo`'s output."""
  frames = per_seq['frames']
  return {
      'elbo_per_step': float(np.mean(per_seq['elbo'] / frames)),
      'elbo_total_per_step': float(per_seq['elbo'].sum() / frames.sum()),
      'recon_per_step': float(np.mean(-per_seq['log_px'] / frames)),
      'recon_total_per_step': float(-per_seq['log_px'].sum() / frames.sum()),
      'kl_per_step': float(np.mean(per_seq['kl'] / frames)),
      'kl_total_per_step': float(per_seq['kl'].sum() / frames.sum()),
      'sequences': int(len(frames)),
      'frames': int(frames.sum()),
  }


BOUNDS = ('elbo', 'iwae', 'smc')


class Evaluator:
  """A model's compiled evaluation functions, traced once and kept for every later call (each
  has one trace for every batch size and length): hold one to evaluate a model repeatedly
  (several splits, every epoch) without retracing.
  """

  def __init__(self, model):
    self.model = model
    self._elbo_fn = None

  def _elbo(self):
    if self._elbo_fn is None:
      model = self.model
      self._elbo_fn = compiled.function(lambda f: model(f, training=False),
                                        input_signature=[_FEATURES])
    return self._elbo_fn

  def per_sequence_elbo(self, sequences, num_samples=1, batch_size=16, first_inputs=None,
                        max_frames_per_batch=64_000, progress=True):
    """ELBO terms of each sequence, averaged over `num_samples` posterior samples.

    Returns:
      dict of float64 arrays `[len(sequences)]`: 'log_px', 'kl', 'elbo' (sums over frames)
      and 'frames'.
    """
    n = len(sequences)
    out = {k: np.zeros(n) for k in ('log_px', 'kl', 'frames')}
    batches = pipeline.eval_batches(sequences, batch_size, first_inputs, max_frames_per_batch)
    fn = self._elbo()
    bar = tqdm(total=num_samples * sum(len(i) for i, _ in batches), unit='seq',
               desc='evaluating', disable=not progress, leave=False)
    for _ in range(num_samples):
      for idx, features in batches:
        s = fn(features)
        out['log_px'][idx] += s['log_px'].numpy() / num_samples
        out['kl'][idx] += s['kl'].numpy() / num_samples
        out['frames'][idx] = s['frames'].numpy()
        bar.update(len(idx))
    bar.close()
    out['elbo'] = out['log_px'] - out['kl']
    return out

  def per_sequence_bound(self, sequences, bound, num_particles, batch_size=16,
                         first_inputs=None, ess_threshold=0.5, seed=0,
                         max_frames_per_batch=16_000, progress=True):
    """IWAE or SMC estimates of log p(x) of each sequence: float64 `[len(sequences)]`."""
    if bound not in ('iwae', 'smc'):
      raise ValueError(f'bound must be iwae or smc here, got {bound!r}')
    limits.particles(num_particles)
    out = np.zeros(len(sequences))
    batches = pipeline.eval_batches(sequences, batch_size, first_inputs,
                                    max(1, max_frames_per_batch // num_particles) * 100)
    bar = tqdm(total=len(sequences), unit='seq', desc=f'{bound} K={num_particles}',
               disable=not progress, leave=False)
    for i, (idx, features) in enumerate(batches):
      # Compiled once per model and arguments (`smc.particle_log_likelihood`, called eagerly).
      out[idx] = smc.particle_log_likelihood(self.model, features, num_particles,
                                             bound == 'smc', ess_threshold,
                                             seed=(seed, i)).numpy()
      bar.update(len(idx))
    bar.close()
    return out

  def evaluate_elbo(self, sequences, num_samples=1, **kwargs) -> dict:
    """`report(per_sequence_elbo(...))` plus the number of samples."""
    return {**report(self.per_sequence_elbo(sequences, num_samples, **kwargs)),
            'num_samples': num_samples}

  def evaluate_bound(self, sequences, bound='elbo', num_particles=1, **kwargs) -> dict:
    """Per-step numbers for `bound` ('elbo', 'iwae', 'smc') in both conventions.

    For 'elbo', `num_particles` is the number of posterior samples averaged (see
    `evaluate_elbo`); for 'iwae' and 'smc' it is K.
    """
    if bound == 'elbo':
      return {'bound': 'elbo', **self.evaluate_elbo(sequences, num_particles, **kwargs)}
    log_p = self.per_sequence_bound(sequences, bound, num_particles, **kwargs)
    frames = np.array([len(s) for s in sequences], np.float64)
    return {'bound': bound, 'num_particles': num_particles,
            'log_p_per_step': float(np.mean(log_p / frames)),
            'log_p_total_per_step': float(log_p.sum() / frames.sum()),
            'sequences': len(sequences), 'frames': int(frames.sum())}


# The final evaluation of a run: train.py's at the end of training and eval.py's give the same
# number for the same run, split and seed, because they draw the same noise: one stream of
# `SequenceModel.reseed` per split and u_1 rule, apart from the epochs' (2e, 2e + 1).
FINAL_EVALUATION_SEED = 10 ** 9
_SPLIT_STREAMS = {'valid': 0, 'test': 2, 'train': 4}


def evaluation_stream(split: str, release_first_frame: bool = False, seed: int = 0) -> int:
  """The `reseed` counter of the ELBO evaluation of `split` (from the release's own first
  input frames if `release_first_frame`) with posterior-sample seed `seed`."""
  return FINAL_EVALUATION_SEED + _SPLIT_STREAMS[split] + int(release_first_frame) + 8 * seed


def evaluate_splits(model, corpus, splits=('valid', 'test'), num_samples=1, batch_size=16,
                    seed=0, evaluator=None) -> dict:
  """The ELBO of each split of `corpus` (`data.corpus.Corpus`), and, where the corpus has the
  srnn2016 release's first input frames for a split, also as the release evaluated it (from
  them): `{split: evaluate_elbo(...), f'{split}_release_first_frame': ...}`."""
  evaluator = evaluator or Evaluator(model)
  results = {}
  for split in splits:
    for release in (False, True) if split in corpus.first_inputs else (False,):
      model.reseed(evaluation_stream(split, release, seed))
      results[split + ('_release_first_frame' if release else '')] = evaluator.evaluate_elbo(
          corpus.splits[split], num_samples, batch_size=batch_size,
          first_inputs=corpus.first_inputs[split] if release else None)
  return results


# One-off evaluations (each call traces afresh; hold an `Evaluator` to evaluate repeatedly).


def per_sequence_elbo(model, sequences, *args, **kwargs) -> dict:
  return Evaluator(model).per_sequence_elbo(sequences, *args, **kwargs)


def per_sequence_bound(model, sequences, *args, **kwargs) -> np.ndarray:
  return Evaluator(model).per_sequence_bound(sequences, *args, **kwargs)


def evaluate_elbo(model, sequences, *args, **kwargs) -> dict:
  return Evaluator(model).evaluate_elbo(sequences, *args, **kwargs)


def evaluate_bound(model, sequences, *args, **kwargs) -> dict:
  return Evaluator(model).evaluate_bound(sequences, *args, **kwargs)
