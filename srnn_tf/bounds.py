"""Estimators of log p(x) over whole sequences, in the paper's reporting conventions.

The paper reports the *test ELBO per time step*: each sequence's ELBO divided by its length,
then the mean over sequences. We report that (`elbo_per_step`) and the total ELBO over the
total number of frames (`elbo_total_per_step`), with the reconstruction (cross-entropy) and KL
terms separately in both conventions.
"""

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from srnn_tf.data import pipeline
from srnn_tf.midi import NUM_KEYS

_FEATURES = {'x': tf.TensorSpec([None, None, NUM_KEYS], tf.float32),
             'u': tf.TensorSpec([None, None, NUM_KEYS], tf.float32),
             'mask': tf.TensorSpec([None, None], tf.float32)}


def _summaries(model):
  """A compiled per-sequence ELBO function with one trace for every batch and length."""
  fn = getattr(model, '_srnn_tf_summaries', None)
  if fn is None:
    fn = tf.function(lambda f: model(f, training=False), input_signature=[_FEATURES])
    model._srnn_tf_summaries = fn
  return fn


def per_sequence_elbo(model, sequences, num_samples=1, batch_size=16,
                      leaky_first_frame=False, max_frames_per_batch=64_000, progress=True):
  """ELBO terms of each sequence, averaged over `num_samples` posterior samples.

  Returns:
    dict of float64 arrays `[len(sequences)]`: 'log_px', 'kl', 'elbo' (sums over frames)
    and 'frames'.
  """
  n = len(sequences)
  out = {k: np.zeros(n) for k in ('log_px', 'kl', 'frames')}
  batches = pipeline.eval_batches(sequences, batch_size, leaky_first_frame,
                                  max_frames_per_batch)
  fn = _summaries(model)
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


def evaluate_elbo(model, sequences, num_samples=1, **kwargs) -> dict:
  """`report(per_sequence_elbo(...))` plus the number of samples."""
  return {**report(per_sequence_elbo(model, sequences, num_samples, **kwargs)),
          'num_samples': num_samples}
