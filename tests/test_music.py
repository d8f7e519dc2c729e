"""The model has learned music, not just note frequencies: priming on a piece's first bars
makes its true continuation more likely, and a real piece is far more likely than the same
frames shuffled. Uses a small SRNN trained for 12 epochs (~25 s) on real JSB (Boulanger) data:
the margins below hold from about 9 epochs on."""

import keras
import numpy as np
import pytest

from srnn_tf import configs, trainer
from srnn_tf.data import load_corpus, pipeline
from srnn_tf.models import standardize_features


@pytest.fixture(scope='module')
def model_and_test(data_dir):
  keras.utils.set_random_seed(0)
  corpus = load_corpus('jsb', 'boulanger', data_dir)
  config = configs.get_config('small', z_dim=8, d_dim=64, a_dim=32, hidden_units=64,
                              embed_units=(64,), learning_rate=3e-3, kl_anneal_epochs=2,
                              carry_state=False, seq_len=50)
  ds, steps = pipeline.train_dataset(corpus.splits['train'], 50, 16, seed=0)
  model = trainer.build_model(config, steps)
  model.fit(ds, steps_per_epoch=steps, epochs=12, verbose=0)
  return model, corpus.splits['test']


def _continuation_elbo(model, pieces, prefix_frames, primed):
  """ELBO (nats, posterior-mean chain) of each piece's frames after `prefix_frames`, scored
  with the prefix before them (primed) or alone from silence. pieces: [N, T, 88] -> [N]."""
  x = pieces.astype(np.float32)
  if not primed:
    x = x[:, prefix_frames:]
  terms = model.compute_terms(standardize_features({'x': x}),
                              noise=np.zeros((*x.shape[:2], model.z_dim), np.float32))
  per_frame = (terms['log_px'] - terms['kl']).numpy()
  return per_frame[:, prefix_frames:].sum(1) if primed else per_frame.sum(1)


def test_priming_makes_the_true_continuation_more_likely(model_and_test):
  model, test = model_and_test
  pieces = np.stack([p[:48] for p in test if len(p) >= 48])  # 60 test pieces
  gains = (_continuation_elbo(model, pieces, 16, True)
           - _continuation_elbo(model, pieces, 16, False))   # nats over 32 frames
  stderr = gains.std() / np.sqrt(len(gains))
  # Measured: mean 3.2 +- 0.4 nats, 80% of pieces gain (9 epochs: 2.4 +- 0.35, 82%).
  assert gains.mean() > max(1.0, 4 * stderr), (gains.mean(), stderr)
  assert np.mean(gains > 0) >= 0.7, gains


def test_real_piece_is_far_more_likely_than_a_shuffled_copy(model_and_test):
  model, test = model_and_test
  rng = np.random.default_rng(0)
  margins = []
  for piece in test[:10]:
    shuffled = piece[rng.permutation(len(piece))]
    real = float(model.score(piece[None].astype(np.float32))['elbo_per_step'][0])
    fake = float(model.score(shuffled[None].astype(np.float32))['elbo_per_step'][0])
    margins.append(real - fake)
  # Nats per frame; measured: min 1.5, mean 2.0.
  assert min(margins) > 0.5 and np.mean(margins) > 1.0, margins
