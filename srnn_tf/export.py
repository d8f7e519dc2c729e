"""Writing trained models: the `.keras` file, and a SavedModel for TF Serving.

The SavedModel needs neither srnn_tf nor TFP to load (`tf.saved_model.load`, or TF Serving),
and has these signatures (inputs -> outputs; `b` batch, `t` time, any length):

    score (= serving_default)   x [b, t, 88] float32 0/1
                                -> elbo, log_px, kl, frames, elbo_per_step: [b] float32
    score_masked                x [b, t, 88], mask [b, t] float32 0/1 (1 = real frame)
                                -> the same, over the unmasked frames only
    sample                      num_steps [] int64, seed [] int64
                                -> piano_roll [1, num_steps, 88] float32 0/1
    sample_tempered             num_steps, seed, temperature [] float32 (positive)
                                -> the same, at that sampling temperature
                                   (`SequenceModel.generate`; 1: as `sample`)
    reconstruct                 x [b, t, 88] -> probabilities [b, t, 88] float32

`score` draws its one posterior sample from a fixed seed, so it is deterministic; `sample`
gives the same piece for the same seed. Inputs are checked inside the graph (rank, 88 keys,
binary values, mask shape), and a bad request fails with a message that says what is wrong.
`metadata.json` beside the model says what it is (model, sizes, corpus, frame grid, metrics).
"""

if __name__ == '__main__':   # `python -m srnn_tf.export`, as before the script moved: before
  # this module's imports, so that the script loads TensorFlow quietly (`cli`)
  from srnn_tf.scripts import export as _script
  _script.run()

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

import tensorflow as tf

from srnn_tf import compiled, files
from srnn_tf.data import registry
from srnn_tf.errors import disk_full, is_no_space
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.models.base import SequenceModel, constructor_parameters

SCORE_SEED = (0, 0)
MAX_SAMPLE_STEPS = 100_000
MAX_FRAMES = 100_000     # time steps of one request to score, score_masked or reconstruct


def save_keras_atomic(model, path: str) -> None:
  """`model.save(path)` via a temporary file, so a crash never leaves half a model."""
  with files.atomic_path(path) as tmp:
    model.save(tmp)


# The checks below are written so that no op but the asserts can fail, whatever the input:
# TensorFlow may run ops in any order its data flow allows (control dependencies on shape ops
# are not kept), so a slice that is only safe after the rank check would fail first with an
# internal message ("slice index 2 of dimension 0 out of bounds"). Shapes are padded before
# they are indexed, each check holds trivially once an earlier one failed (one message per
# request), and the input reaches the model through a `tf.cond` on all of them.


def _padded_shape(t, rank: int):
  """`tf.shape(t)` cut or padded with zeros to `rank` entries: safe to index at any rank."""
  return tf.concat([tf.shape(t), tf.zeros([rank], tf.int32)], 0)[:rank]


def _checks(conditions):
  """Asserts `[(condition, message), ...]` in order: each one only if all before it hold."""
  asserts, ok = [], tf.constant(True)
  for condition, message in conditions:
    asserts.append(tf.debugging.Assert(tf.logical_or(tf.logical_not(ok), condition), [message]))
    ok = tf.logical_and(ok, condition)
  return asserts, ok


def _checked_roll(x):
  """`x` after in-graph checks that it is a binary `[batch, time, 88]` piano roll with
  1..MAX_FRAMES frames."""
  shape = _padded_shape(x, 3)
  asserts, ok = _checks([
      (tf.equal(tf.rank(x), 3), 'x must be a piano roll [batch, time, 88] (rank 3)'),
      (tf.equal(shape[2], NUM_KEYS), 'x must have 88 keys in its last dimension'),
      (shape[0] > 0, 'x must hold at least one piece'),
      (shape[1] > 0, 'x must have at least one frame'),
      (shape[1] <= MAX_FRAMES, f'x may have at most {MAX_FRAMES} frames'),
      (tf.reduce_all((x == 0.0) | (x == 1.0)), 'x must hold only 0 and 1 (binary piano roll)'),
  ])
  with tf.control_dependencies(asserts):
    return tf.cond(ok, lambda: tf.reshape(x, [shape[0], shape[1], NUM_KEYS]),
                   lambda: tf.zeros([1, 1, NUM_KEYS]))


def _checked_mask(mask, x):
  """`mask` after checks that it is `[batch, time]` like `x`, binary, and in every row a run
  of ones from the first frame on (at least one real frame, no holes), as the loaders
  require of masked data."""
  shape, x_shape = _padded_shape(mask, 2), _padded_shape(x, 3)[:2]
  asserts, ok = _checks([
      (tf.equal(tf.rank(mask), 2), 'mask must be [batch, time] (rank 2)'),
      (tf.reduce_all(tf.equal(shape, x_shape)), 'mask must have the batch and time shape of x'),
      (tf.reduce_all((mask == 0.0) | (mask == 1.0)), 'mask must hold only 0 and 1'),
  ])
  with tf.control_dependencies(asserts):
    mask = tf.cond(ok, lambda: tf.reshape(mask, [shape[0], shape[1]]), lambda: tf.ones([1, 1]))
  prefix, ok = _checks([
      (tf.reduce_all(mask[:, :1] == 1.0), 'mask must start with a real frame (1) in every row'),
      (tf.reduce_all(mask[:, 1:] <= mask[:, :-1]),
       'mask must be ones then zeros in every row (no holes)'),
  ])
  with tf.control_dependencies(prefix):
    return tf.cond(ok, lambda: mask, lambda: tf.ones_like(mask))


def _checked_scalar(t, name: str, minimum=None, maximum=None, positive=False):
  """`t` as a scalar, after checks of its rank and range (`positive`: a float above 0, not
  NaN or infinite)."""
  first = tf.concat([tf.reshape(t, [-1]), tf.ones([1], t.dtype)], 0)[0]
  conditions = [(tf.equal(tf.rank(t), 0), f'{name} must be a scalar')]
  if positive:
    conditions.append((tf.math.is_finite(first) & (first > 0),
                       f'{name} must be a positive number'))
  if minimum is not None:
    conditions.append((first >= minimum, f'{name} must be positive' if minimum == 1 else
                       f'{name} must be at least {minimum}'))
  if maximum is not None:
    conditions.append((first <= maximum, f'{name} must be <= {maximum}'))
  asserts, ok = _checks(conditions)
  with tf.control_dependencies(asserts):
    return tf.cond(ok, lambda: tf.reshape(t, []), lambda: tf.ones([], t.dtype))


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

  def sample_tempered(num_steps, seed, temperature):
    num_steps = _checked_scalar(num_steps, 'num_steps', 1, MAX_SAMPLE_STEPS)
    seed = _checked_scalar(seed, 'seed')
    temperature = _checked_scalar(temperature, 'temperature', positive=True)
    steps = tf.cast(num_steps, tf.int32)
    # Two int32 seed words from the int64 seed: high and low halves.
    seed32 = tf.stack([tf.cast(seed // (2 ** 31), tf.int32), tf.cast(seed % (2 ** 31), tf.int32)])
    return {'piano_roll': model.generate(steps, 1, seed=seed32, temperature=temperature)}

  def sample(num_steps, seed):
    return sample_tempered(num_steps, seed, tf.constant(1.0))

  def reconstruct(x):
    return {'probabilities': model.reconstruct(_checked_roll(x))}

  return {
      'score': (score, [roll_spec]),
      'score_masked': (score_masked, [roll_spec, tf.TensorSpec(None, tf.float32, name='mask')]),
      'sample': (sample, [tf.TensorSpec(None, tf.int64, name='num_steps'),
                          tf.TensorSpec(None, tf.int64, name='seed')]),
      'sample_tempered': (sample_tempered, [tf.TensorSpec(None, tf.int64, name='num_steps'),
                                            tf.TensorSpec(None, tf.int64, name='seed'),
                                            tf.TensorSpec(None, tf.float32,
                                                          name='temperature')]),
      'reconstruct': (reconstruct, [roll_spec]),
  }


def export_saved_model(model, path: str, metadata: dict | None = None) -> None:
  """Writes the serving SavedModel (and `metadata.json`) to `path`, replacing it atomically."""
  # Each signature traced once, as a concrete function, and saved with the variables it
  # reads. (Through `keras.export.ExportArchive` every signature is traced twice, the second
  # time in the save context: the export took 25% longer, measured on four models.)
  archive = tf.Module()
  archive.variables_read = list(model.variables)
  # The signatures check their requests themselves, with messages for a server's clients: the
  # Python API's checks (`SequenceModel.check_inputs`) would only repeat them in the graph.
  checks, model.check_inputs = model.check_inputs, False
  try:
    signatures = {name: compiled.function(fn, input_signature=spec).get_concrete_function()
                  for name, (fn, spec) in serving_functions(model).items()}
  finally:
    model.check_inputs = checks
  signatures['serving_default'] = signatures['score']
  parent = os.path.dirname(os.path.abspath(path))
  shutil.rmtree(path + '.tmp', ignore_errors=True)   # left by versions that used this name
  tmp = tempfile.mkdtemp(dir=parent, prefix=files.TMP_PREFIX,
                         suffix='-' + os.path.basename(path))
  try:
    # Serving never differentiates: without the custom gradients (the GRU's hand-written
    # backward pass), whose tracing took 60% of the save.
    tf.saved_model.save(archive, tmp, signatures=signatures, options=tf.saved_model.SaveOptions(
        experimental_custom_gradients=False))
    if metadata is not None:
      with open(os.path.join(tmp, 'metadata.json'), 'w') as f:
        json.dump(metadata, f, indent=2)
    os.chmod(tmp, 0o777 & ~files.umask())
    files.failpoint('write:' + os.path.basename(path))
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
  except (OSError, tf.errors.OpError) as e:   # TensorFlow's file writes raise OpErrors
    if is_no_space(e):
      raise disk_full(e, path) from None
    raise
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def metadata(model, config=None, metrics=None, grid=None) -> dict:
  """What a server and its clients need to know about an exported model; `grid` is its
  corpus's `data.grid.Grid` (the musical time of a frame), as the run recorded it."""
  # The architecture: every hyperparameter but the training options and dropout rates.
  training = constructor_parameters(SequenceModel)
  sizes = {k: v for k, v in model.hyperparameters().items()
           if k not in training and not k.startswith('dropout_')}
  info = {'model': type(model).__name__, 'sizes': sizes,
          'signatures': {name: [s.name for s in spec]
                         for name, (_, spec) in serving_functions(model).items()},
          'score_seed': list(SCORE_SEED), 'keys': {'count': NUM_KEYS, 'lowest_midi_note': 21}}
  if config is not None:
    is_file = config.dataset not in registry.CORPORA
    info.update({'corpus': config.dataset,
                 'data_version': None if is_file else config.data_version})
  if grid is not None:
    info['grid'] = grid.to_dict()
  if metrics is not None:
    info['metrics'] = metrics
  return info

