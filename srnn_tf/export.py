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

from srnn_tf import rundir
from srnn_tf.errors import disk_full, is_no_space
from srnn_tf.midi import NUM_KEYS

SCORE_SEED = (0, 0)
MAX_SAMPLE_STEPS = 100_000
MAX_FRAMES = 100_000     # time steps of one request to score, score_masked or reconstruct


def save_keras_atomic(model, path: str) -> None:
  """`model.save(path)` via a temporary file, so a crash never leaves half a model."""
  with rundir.atomic_path(path) as tmp:
    model.save(tmp)


def _with_rank(t, rank: int, message: str):
  """`tf.shape(t)`, computed only after the check that `t` has rank `rank`: with the
  signatures' unknown-rank inputs, a wrong rank fails on this message, not inside an op."""
  check = tf.debugging.assert_equal(tf.rank(t), rank, message=message)
  with tf.control_dependencies([check]):
    return tf.shape(t)


def _checked_roll(x):
  """`x` after in-graph checks that it is a binary `[batch, time, 88]` piano roll with
  1..MAX_FRAMES frames."""
  shape = _with_rank(x, 3, 'x must be a piano roll [batch, time, 88] (rank 3)')
  checks = [
      tf.debugging.assert_equal(shape[2], NUM_KEYS,
                                message='x must have 88 keys in its last dimension'),
      tf.debugging.assert_positive(shape[0], message='x must hold at least one piece'),
      tf.debugging.assert_positive(shape[1], message='x must have at least one frame'),
      tf.debugging.assert_less_equal(shape[1], MAX_FRAMES,
                                     message=f'x may have at most {MAX_FRAMES} frames'),
      tf.debugging.assert_equal(tf.reduce_all((x == 0.0) | (x == 1.0)), True,
                                message='x must hold only 0 and 1 (binary piano roll)'),
  ]
  with tf.control_dependencies(checks):
    return tf.ensure_shape(tf.identity(x), [None, None, NUM_KEYS])


def _checked_mask(mask, x):
  """`mask` after checks that it is `[batch, time]` like `x`, binary, and in every row a run
  of ones from the first frame on (at least one real frame, no holes), as the loaders
  require of masked data."""
  shape = _with_rank(mask, 2, 'mask must be [batch, time] (rank 2)')
  checks = [
      tf.debugging.assert_equal(shape, tf.shape(x)[:2],
                                message='mask must have the batch and time shape of x'),
      tf.debugging.assert_equal(tf.reduce_all((mask == 0.0) | (mask == 1.0)), True,
                                message='mask must hold only 0 and 1'),
  ]
  with tf.control_dependencies(checks):
    prefix = [tf.debugging.assert_equal(
                  tf.reduce_all(mask[:, 0] == 1.0), True,
                  message='mask must start with a real frame (1) in every row'),
              tf.debugging.assert_equal(
                  tf.reduce_all(mask[:, 1:] <= mask[:, :-1]), True,
                  message='mask must be ones then zeros in every row (no holes)')]
  with tf.control_dependencies(prefix):
    return tf.ensure_shape(tf.identity(mask), [None, None])


def _checked_scalar(t, name: str):
  with tf.control_dependencies([_with_rank(t, 0, f'{name} must be a scalar')]):
    return tf.reshape(t, [])


def serving_functions(model):
  """The signature functions, as plain callables of tensors (see the module docstring)."""
  # Unknown-rank specs: a request of the wrong rank reaches the checks and gets their message
  # (with [None, None, 88], the rank checks would be dropped at tracing time).
  roll_spec = tf.TensorSpec(None, tf.float32, name='x')

  def score(x):
    return model.score(_checked_roll(x), SCORE_SEED)

  def score_masked(x, mask):
    x = _checked_roll(x)
    mask = _checked_mask(mask, x)   # before any use: a bad shape must fail in the check
    return model.score({'x': x * mask[..., None], 'mask': mask}, SCORE_SEED)

  def sample(num_steps, seed):
    num_steps, seed = _checked_scalar(num_steps, 'num_steps'), _checked_scalar(seed, 'seed')
    checks = [tf.debugging.assert_positive(num_steps, message='num_steps must be positive'),
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
      'score_masked': (score_masked, [roll_spec, tf.TensorSpec(None, tf.float32, name='mask')]),
      'sample': (sample, [tf.TensorSpec(None, tf.int64, name='num_steps'),
                          tf.TensorSpec(None, tf.int64, name='seed')]),
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
  parent = os.path.dirname(os.path.abspath(path))
  shutil.rmtree(path + '.tmp', ignore_errors=True)   # left by versions that used this name
  tmp = tempfile.mkdtemp(dir=parent, prefix=rundir.TMP_PREFIX,
                         suffix='-' + os.path.basename(path))
  try:
    archive.write_out(tmp, verbose=False)
    if metadata is not None:
      with open(os.path.join(tmp, 'metadata.json'), 'w') as f:
        json.dump(metadata, f, indent=2)
    os.chmod(tmp, 0o777 & ~rundir._umask())
    rundir.failpoint('write:' + os.path.basename(path))
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
  except (OSError, tf.errors.OpError) as e:   # TensorFlow's file writes raise OpErrors
    if is_no_space(e):
      raise disk_full(e, path) from None
    raise
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


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
  flags_ = flags.FLAGS
  model, config = rundir.load_run(flags_.run)
  run_dir = rundir.run_dir(flags_.run)
  summary = rundir.read_json(os.path.join(run_dir, rundir.RUN_JSON))
  metrics = ({k: v for k, v in summary.items() if k.startswith(('test', 'valid'))}
             if isinstance(summary, dict) else None)
  output = flags_.output or os.path.join(run_dir, 'saved_model')
  if os.path.exists(output) and not os.path.isdir(output):
    raise rundir.UserError(f'--output={output}: is a file, not a folder')
  if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
    raise rundir.UserError(f'--output={output}: its folder does not exist')
  export_saved_model(model, output, metadata(model, config, metrics))
  print(f'wrote {output}')


if __name__ == '__main__':
  from absl import flags
  from srnn_tf import cli
  flags.DEFINE_string('run', None, 'Run directory or .keras file.', required=True)
  flags.DEFINE_string('output', None, 'SavedModel directory (default: <run>/saved_model).')
  cli.run(main)
