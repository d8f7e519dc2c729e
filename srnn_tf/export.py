"""Writing trained models: the `.keras` file, and a SavedModel for TF Serving.

The SavedModel needs neither srnn_tf nor TFP to load (`tf.saved_model.load`, or TF Serving),
and has these signatures (inputs -> outputs; `b` batch, `t` time, any length):

    score (= serving_default)   x [b, t, 88] float32 0/1
                                -> elbo, log_px, kl, frames, elbo_per_step: [b] float32
    score_masked                x [b, t, 88], mask [b, t] float32 0/1 (1 = real frame)
                                -> the same, over the unmasked frames only
    sample                      num_steps [] int64, seed [] int64
                                -> piano_roll [1, num_steps, 88] float32 0/1
    reconstruct                 x [b, t, 88] -> probabilities [b, t, 88] float32

`score` draws its one posterior sample from a fixed seed, so it is deterministic; `sample`
gives the same piece for the same seed. Inputs are checked inside the graph (rank, 88 keys,
binary values, mask shape), and a bad request fails with a message that says what is wrong.
`metadata.json` beside the model says what it is (model, sizes, corpus, frame grid, metrics).
"""

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from srnn_tf.midi import NUM_KEYS

SCORE_SEED = (0, 0)
MAX_SAMPLE_STEPS = 100_000


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


def _checked_roll(x):
  """`x` after in-graph checks that it is a binary `[batch, time, 88]` piano roll."""
  checks = [
      tf.debugging.assert_rank(x, 3, message='x must be a piano roll [batch, time, 88]'),
      tf.debugging.assert_equal(tf.shape(x)[-1], NUM_KEYS,
                                message='x must have 88 keys in its last dimension'),
      tf.debugging.assert_equal(tf.reduce_all((x == 0.0) | (x == 1.0)), True,
                                message='x must hold only 0 and 1 (binary piano roll)'),
  ]
  with tf.control_dependencies(checks):
    return tf.identity(x)


def _checked_mask(mask, x):
  checks = [
      tf.debugging.assert_rank(mask, 2, message='mask must be [batch, time]'),
      tf.debugging.assert_equal(tf.shape(mask), tf.shape(x)[:2],
                                message='mask must have the batch and time shape of x'),
      tf.debugging.assert_equal(tf.reduce_all((mask == 0.0) | (mask == 1.0)), True,
                                message='mask must hold only 0 and 1'),
  ]
  with tf.control_dependencies(checks):
    return tf.identity(mask)


def serving_functions(model):
  """The signature functions, as plain callables of tensors (see the module docstring)."""
  roll_spec = tf.TensorSpec([None, None, NUM_KEYS], tf.float32, name='x')

  def score(x):
    return model.score(_checked_roll(x), SCORE_SEED)

  def score_masked(x, mask):
    x = _checked_roll(x)
    mask = _checked_mask(mask, x)   # before any use: a bad shape must fail in the check
    return model.score({'x': x * mask[..., None], 'mask': mask}, SCORE_SEED)

  def sample(num_steps, seed):
    checks = [tf.debugging.assert_rank(num_steps, 0, message='num_steps must be a scalar'),
              tf.debugging.assert_rank(seed, 0, message='seed must be a scalar'),
              tf.debugging.assert_positive(num_steps, message='num_steps must be positive'),
              tf.debugging.assert_less_equal(num_steps, tf.constant(MAX_SAMPLE_STEPS, tf.int64),
                                             message=f'num_steps must be <= {MAX_SAMPLE_STEPS}')]
    with tf.control_dependencies(checks):
      steps = tf.cast(num_steps, tf.int32)
    # Two int32 seed words from the int64 seed: high and low halves.
    seed32 = tf.stack([tf.cast(seed // (2 ** 31), tf.int32), tf.cast(seed % (2 ** 31), tf.int32)])
    return {'piano_roll': model.generate(steps, 1, seed=seed32)}

  def reconstruct(x):
    return {'probabilities': model.reconstruct(_checked_roll(x))}

  return {
      'score': (score, [roll_spec]),
      'score_masked': (score_masked, [roll_spec,
                                      tf.TensorSpec([None, None], tf.float32, name='mask')]),
      'sample': (sample, [tf.TensorSpec([], tf.int64, name='num_steps'),
                          tf.TensorSpec([], tf.int64, name='seed')]),
      'reconstruct': (reconstruct, [roll_spec]),
  }


def export_saved_model(model, path: str, metadata: dict | None = None) -> None:
  """Writes the serving SavedModel (and `metadata.json`) to `path`, replacing it atomically."""
  archive = keras.export.ExportArchive()
  archive.track(model)
  endpoints = {}
  for name, (fn, signature) in serving_functions(model).items():
    endpoints[name] = archive.add_endpoint(name, fn, input_signature=signature)
  archive.add_endpoint('serving_default', endpoints['score'])
  tmp = path + '.tmp'
  shutil.rmtree(tmp, ignore_errors=True)
  archive.write_out(tmp, verbose=False)
  if metadata is not None:
    with open(os.path.join(tmp, 'metadata.json'), 'w') as f:
      json.dump(metadata, f, indent=2)
  shutil.rmtree(path, ignore_errors=True)
  os.replace(tmp, path)


def metadata(model, config=None, metrics=None) -> dict:
  """What a server and its clients need to know about an exported model."""
  sizes = {k: v for k, v in model.get_config().items()
           if k in ('z_dim', 'd_dim', 'a_dim', 'h_dim', 'hidden_units', 'embed_units',
                    'inference', 'resq')}
  info = {'model': type(model).__name__, 'sizes': sizes,
          'signatures': {name: [s.name for s in spec]
                         for name, (_, spec) in serving_functions(model).items()},
          'score_seed': list(SCORE_SEED), 'keys': {'count': NUM_KEYS, 'lowest_midi_note': 21}}
  if config is not None:
    is_file = config.dataset not in ('jsb', 'muse', 'nottingham', 'piano')
    info.update({'corpus': config.dataset, 'data_version': None if is_file else
                 config.data_version,
                 'frame_grid': (f'{config.frames_per_quarter} frames per quarter note'
                                if is_file else 'as the corpus (one frame per time step)')})
  if metrics is not None:
    info['metrics'] = metrics
  return info


def main(argv):
  """`python -m srnn_tf.export --run=RUN_DIR [--output=DIR]`: (re)writes a run's SavedModel."""
  del argv
  from absl import flags
  from srnn_tf import runs
  flags_ = flags.FLAGS
  model, config = runs.load_run(flags_.run)
  run_dir = runs.run_dir(flags_.run)
  metrics = None
  if os.path.exists(os.path.join(run_dir, 'run.json')):
    with open(os.path.join(run_dir, 'run.json')) as f:
      metrics = {k: v for k, v in json.load(f).items() if k.startswith(('test', 'valid'))}
  output = flags_.output or os.path.join(run_dir, 'saved_model')
  export_saved_model(model, output, metadata(model, config, metrics))
  print(f'wrote {output}')


if __name__ == '__main__':
  from absl import app
  from absl import flags
  flags.DEFINE_string('run', None, 'Run directory or .keras file.', required=True)
  flags.DEFINE_string('output', None, 'SavedModel directory (default: <run>/saved_model).')
  app.run(main)
