"""Writing trained models: the `.keras` file and a SavedModel with serving signatures.

The SavedModel needs neither srnn_tf nor TFP to load: `tf.saved_model.load(path)` and call
its signatures. `score` (also `serving_default`) takes piano rolls `x` `[batch, time, 88]`
(float32, 0/1) and returns per-sequence `elbo`, `log_px`, `kl`, `frames`, `elbo_per_step`.
"""

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from srnn_tf.midi import NUM_KEYS


def save_keras_atomic(model, path: str) -> None:
  """`model.save(path)` via a temporary file, so a crash never leaves half a model."""
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or '.', suffix='.keras')
  os.close(fd)
  try:
    model.save(tmp)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def export_saved_model(model, path: str, metadata: dict | None = None) -> None:
  """Writes a SavedModel with a `score` signature (and `metadata.json` beside it)."""
  archive = keras.export.ExportArchive()
  archive.track(model)
  score = archive.add_endpoint(
      'score', lambda x: model(x, training=False),
      input_signature=[tf.TensorSpec([None, None, NUM_KEYS], tf.float32, name='x')])
  archive.add_endpoint('serving_default', score)
  tmp = path + '.tmp'
  shutil.rmtree(tmp, ignore_errors=True)
  archive.write_out(tmp, verbose=False)
  if metadata is not None:
    with open(os.path.join(tmp, 'metadata.json'), 'w') as f:
      json.dump(metadata, f, indent=2)
  shutil.rmtree(path, ignore_errors=True)
  os.replace(tmp, path)
