"""What every sequence model here shares: the feature dict, the training and evaluation
steps, KL annealing, gradient clipping, metrics, and carried (stateful) training.

A model implements `compute_terms(features, training, initial_state)` returning per-frame
`log_px` and `kl` `[B, T]` (and its final recurrent state); this class turns them into the
annealed per-frame ELBO that `fit` maximises and the metrics it logs.
"""

import functools
import inspect
import numbers
import re

import keras
import numpy as np
import tensorflow as tf

from srnn_tf import compiled
from srnn_tf import configs
from srnn_tf import layers
from srnn_tf import note_features
from srnn_tf import recurrences
from srnn_tf import seeds
from srnn_tf import smc
from srnn_tf.features import INPUT_ERROR, checked_features, standardize_features
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.note_features import OCTAVE


def input_errors(method):
  """`method`, raising the refusals of `features.checked_features` as one-line `ValueError`s
  named after it, whether they came from building the graph or from its assertions (Keras
  wraps both in many lines of context)."""
  @functools.wraps(method)
  def checked(self, *args, **kwargs):
    if not tf.executing_eagerly():   # traced by an outer call, which reports it
      return method(self, *args, **kwargs)
    try:
      return method(self, *args, **kwargs)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
      text = re.sub(r'\x1b\[[0-9;]*m', '', str(e))   # Keras's bold face
      # An assertion's message is printed in brackets; a shape error's fills its line.
      end = r'[^\]\n]*' if isinstance(e, tf.errors.InvalidArgumentError) else r'[^\n]*'
      found = re.search(re.escape(INPUT_ERROR) + f'({end})', text)
      if not found:
        raise
      problem = found.group(1)
      if isinstance(e, tf.errors.InvalidArgumentError):   # eager assertions quote it
        problem = problem.rstrip("'")
      name = 'call' if method.__name__ == '__call__' else method.__name__
      raise ValueError(f'{name}: {problem.strip()}') from None
  return checked


def _check_arrays(method, x, num_keys):
  """Raises `ValueError` if `x` holds no batch that Keras would run (it would return an
  empty history or NaN metrics), or if arrays are not piano rolls (the graph, built for
  Keras's arrays without their shapes, would fail with its own error before its checks)."""
  if isinstance(x, tf.data.Dataset):
    if x.cardinality() == 0:
      raise ValueError(f'{method}: the dataset is empty')
    x = x.element_spec   # its shapes (a retraced graph may not know them)
  if isinstance(x, (tuple, list)) and x:
    x = x[0]
  features = x if isinstance(x, dict) else {}
  x = features.get('x', x)
  shape = getattr(x, 'shape', None)
  if shape is None or tf.TensorShape(shape).rank is None:
    return
  shape = tuple(shape)
  if len(shape) != 3 or shape[-1] not in (None, num_keys):
    raise ValueError(f'{method}: x has shape {shape}: must be piano rolls '
                     f'[batch, frames, {num_keys}]')
  if 0 in shape[:2]:
    raise ValueError(f'{method}: x has shape {shape}: no sequences or no frames')
  for name, expected in (('u', shape), ('mask', shape[:2])):
    other = getattr(features.get(name), 'shape', expected)
    if not tf.TensorShape(other).is_compatible_with(expected):
      raise ValueError(f'{method}: {name} has shape {tuple(other)}: must be {expected}, as x')



class SequenceModel(keras.Model):
  """Base class: annealed-ELBO training and ELBO evaluation over masked piano rolls.

  Args:
    kl_start: KL weight (temperature) at the first training step.
    kl_anneal_steps: steps over which the KL weight rises linearly to 1 (0: always 1).
    clip_norm: gradients are rescaled to this total norm (0: off) ...
    clip_value: ... then clipped elementwise to +-clip_value (0: off).
    stateful_batch_size: if > 0, training carries the recurrent state from each batch (of
      exactly this size) to the next: the release's stateful training, where row b of batch
      k+1 continues row b of batch k. Call `reset_carried_state()` at each epoch start
      (train.py's callback does). Evaluation always starts from the zero state.
    seed: seed of the model's noise.
    objective: what training maximises: 'elbo' (annealed, closed-form KL), or the IWAE or
      FIVO (SMC) bound with `num_particles` particles (see smc.py; no annealing, and the
      logged elbo/recon/kl are then monitoring only, from a separate ELBO pass).
    num_particles: K for the 'iwae' and 'fivo' objectives.
    train_precision: dtype of the training step's products over all time steps
      ('bfloat16': faster on CPUs with AVX512-BF16; see `recurrences.matmul_precision`).
      Evaluation, sampling and the recurrent steps are always float32.
    free_bits: in training with the ELBO, a frame's KL below this many nats costs this many
      (Kingma et al. 2016's free bits, per frame), so that the posterior is not pulled onto the
      prior where it carries little; 0: off. The logged and evaluated ELBO is the true one.
    aux_weight: in training with the ELBO, this times an auxiliary cost is added to the loss:
      a linear head reads the posterior sample `z_t` and predicts how often each pitch class
      sounds in the next `aux_frames` frames (`note_features.future_pitch_classes`; the
      cross-entropy against those shares), so that `z_t` is made to carry what lies ahead, as
      Goyal et al. 2017's z-forcing makes it predict the backward state; against posterior
      collapse under a strong emission. 0: off (no head). The ELBO logged and evaluated is the
      model's own; the head plays no part in it, in sampling or in the SavedModel.
    aux_frames: how many following frames the auxiliary cost's target covers.

  Every constructor argument of a model (its own, its bases', these) is a hyperparameter of
  the same name as the `Config` field it comes from (`models.factory`); `get_config` and
  `hyperparameters()` return them as the model was built, defaults filled in.
  """

  # The keys of a frame (the tied models take fewer in the tests).
  num_keys = NUM_KEYS
  # Whether the model reads the features' `u` (the frame before each frame). A model that
  # does not gives the same numbers whatever `u_1` is: silence, a carried frame or the
  # release's own first input frame.
  reads_inputs = True
  # Whether a frame's keys are modelled one after another (a NADE emission, the tied models'
  # key axis): `reconstruct` then gives each key's probability given the true lower keys.
  keys_in_order = False
  # Whether `fit`, `evaluate`, `predict`, `score` and `reconstruct` refuse what is not a batch
  # of piano rolls (`features.checked_features`; its cost on a training step is in
  # docs/guarantees.md, "The Python API").
  check_inputs = True

  def __init__(self, kl_start=0.2, kl_anneal_steps=0, clip_norm=1.0, clip_value=10.0,
               stateful_batch_size=0, seed=None, objective='elbo', num_particles=1,
               train_precision='float32', free_bits=0.0, aux_weight=0.0, aux_frames=4,
               **kwargs):
    super().__init__(**kwargs)
    _check_hyperparameters(type(self), self._hyperparameters)
    if objective != 'elbo' and stateful_batch_size:
      raise ValueError(f'the {objective} objective starts every window from the zero state; '
                       'it cannot carry state between batches (use --nocarry_state)')
    for name, value in (('free_bits', free_bits), ('aux_weight', aux_weight)):
      if value and objective != 'elbo':
        raise ValueError(f'{name} applies to the ELBO objective, not {objective!r}')
    if aux_weight and not isinstance(self, LatentModel):
      raise ValueError(f'{type(self).__name__}: aux_weight={aux_weight}: the model has no '
                       'latent variables')
    self.objective = objective
    self.free_bits = free_bits
    self.aux_weight = aux_weight
    self.aux_frames = aux_frames
    if aux_weight:
      # The auxiliary cost's head: z_t -> a logit per pitch class (built in `build`).
      self.aux_head = layers.dense(OCTAVE, name='aux_head')
    self.num_particles = num_particles
    self.train_precision = train_precision
    self.kl_start = kl_start
    self.kl_anneal_steps = kl_anneal_steps
    self.clip_norm = clip_norm
    self.clip_value = clip_value
    self.stateful_batch_size = stateful_batch_size
    self.seed = seed
    self.seed_generator = keras.random.SeedGenerator(seed)
    self._carried = []
    self.loss_tracker = keras.metrics.Mean(name='loss')
    self.elbo_tracker = keras.metrics.Mean(name='elbo')
    self.recon_tracker = keras.metrics.Mean(name='recon')
    self.kl_tracker = keras.metrics.Mean(name='kl')

  def __new__(cls, *args, **kwargs):
    instance = super().__new__(cls, *args, **kwargs)
    # Recorded before `__init__` runs, bypassing Keras's attribute tracking (a plain dict).
    object.__setattr__(instance, '_hyperparameters', _bind_hyperparameters(cls, args, kwargs))
    return instance

  def hyperparameters(self) -> dict:
    """The constructor's arguments as this model was built, every default filled in:
    `{name: value}` in the order of `constructor_parameters(type(self))`."""
    return dict(self._hyperparameters)

  # -- to implement ----------------------------------------------------------------------------

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """The per-frame terms of the objective.

    Args:
      features: the feature dict (`x`, `u` `[B, T, K]`, `mask` `[B, T]`).
      training: whether dropout applies.
      initial_state: the carried state (`state_sizes()`-shaped tuple of `[B, n]`), or None
        for the zero state.
      noise: standard-normal noise `[B, T, latent_size()]` for the posterior sample (latent
        models; None: drawn from the model's seed generator).

    Returns:
      `{'log_px': [B, T], 'kl': [B, T], 'final_state': tuple of [B, n]}`: the reconstruction
      log-likelihood (exact for models without latents), the KL term (zeros there), and the
      state after the last frame (held over padding); a latent model adds the posterior
      sample `'z'` `[B, T, Z]` (what the auxiliary cost reads).
    """
    raise NotImplementedError

  def state_sizes(self):
    """Sizes of the recurrent state carried between batches (a tuple of ints, one per
    `final_state` entry)."""
    raise NotImplementedError

  def generation_state(self, prime, batch_size, seed):
    """The state generation starts from.

    Args:
      prime: None (start from silence and the zero state) or a feature dict `[B, P, K]` that
        the model reads first (latent models through their inference network).
      batch_size: B without a primer.
      seed: two int32s for the noise of reading the primer.

    Returns:
      A nested structure of `[B, ...]` tensors, the last element the last frame `[B, K]`.
    """
    raise NotImplementedError

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    """One frame of generation.

    Args:
      state: as `generation_state` returns it.
      noise_z: standard-normal noise `[B, max(latent_size(), 1)]` for the latent step.
      uniform: `U(0, 1)` noise `[B, K]`, one number per key.
      temperature: divides the emission's logits (each key's conditional one).

    Returns:
      `(new_state, x)`: the next state and the frame drawn, `[B, K]` of 0/1.
    """
    raise NotImplementedError

  def reconstruct(self, inputs, noise=None):
    """Each key's probability of sounding in every frame, `[B, T, K]`, given the previous
    frames (and, where the emission is autoregressive over the keys, the frame's true lower
    keys; latent models: given one posterior sample, `noise` as in `compute_terms`)."""
    raise NotImplementedError

  def _features(self, data):
    """The feature dict of what a caller handed over, checked (`check_inputs`)."""
    if self.check_inputs:
      return checked_features(data, self.num_keys)
    return standardize_features(data)

  # -- the Python API's door: input errors as one-line `ValueError`s --------------------------

  def __init_subclass__(cls, **kwargs):
    super().__init_subclass__(**kwargs)
    if 'reconstruct' in vars(cls):   # each model's own: its refusals too as one line
      cls.reconstruct = input_errors(cls.reconstruct)

  @input_errors
  def __call__(self, *args, **kwargs):
    return super().__call__(*args, **kwargs)

  @input_errors
  def fit(self, x=None, *args, **kwargs):
    _check_arrays('fit', x, self.num_keys)
    history = super().fit(x, *args, **kwargs)
    if not history.history and kwargs.get('epochs', 1) > kwargs.get('initial_epoch', 0):
      raise ValueError('fit: x gave no batches')
    return history

  @input_errors
  def evaluate(self, x=None, *args, **kwargs):
    _check_arrays('evaluate', x, self.num_keys)
    return super().evaluate(x, *args, **kwargs)

  @input_errors
  def predict(self, x, *args, **kwargs):
    _check_arrays('predict', x, self.num_keys)
    return super().predict(x, *args, **kwargs)

  @input_errors
  def train_on_batch(self, x, *args, **kwargs):
    _check_arrays('train_on_batch', x, self.num_keys)
    return super().train_on_batch(x, *args, **kwargs)

  @input_errors
  def test_on_batch(self, x, *args, **kwargs):
    _check_arrays('test_on_batch', x, self.num_keys)
    return super().test_on_batch(x, *args, **kwargs)

  @input_errors
  def predict_on_batch(self, x):
    _check_arrays('predict_on_batch', x, self.num_keys)
    return super().predict_on_batch(x)

  # -- building --------------------------------------------------------------------------------

  def build(self, input_shape=None):
    """Creates all weights by running the model once on a two-frame dummy batch."""
    if self.built:
      return
    dummy = tf.zeros([1, 2, self.num_keys])
    self.compute_terms(standardize_features(dummy))
    if self.aux_weight:
      self.aux_head.build((None, self.latent_size()))
    if self.stateful_batch_size:
      self._carried = [self.add_weight(name=f'carried_state_{i}', initializer='zeros',
                                       shape=(self.stateful_batch_size, n), trainable=False)
                       for i, n in enumerate(self.state_sizes())]
    super().build(input_shape)

  def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    del iterator, data_batch
    # Keras's symbolic build averages a first batch across replicas with strategy.reduce,
    # which MultiWorkerMirroredStrategy cannot do for dict batches. `build()` makes all our
    # weights without data; then only the optimizer's slots are left, in the strategy's scope.
    with self.distribute_strategy.scope():
      self.build()
      if self.optimizer is not None and not self.optimizer.built:
        self.optimizer.build(self.trainable_variables)

  @property
  def metrics(self):
    return [self.loss_tracker, self.elbo_tracker, self.recon_tracker, self.kl_tracker]

  # -- the objective ---------------------------------------------------------------------------

  def kl_weight(self):
    """The KL temperature: linear from `kl_start` to 1 over `kl_anneal_steps` steps."""
    if not self.kl_anneal_steps or self.optimizer is None:
      return tf.constant(1.0)
    progress = tf.cast(self.optimizer.iterations, tf.float32) / float(self.kl_anneal_steps)
    return tf.minimum(1.0, self.kl_start + (1.0 - self.kl_start) * progress)

  def reseed(self, counter: int) -> None:
    """Puts the stateful noise (dropout, validation and evaluation samples) at a state that
    depends only on the model's seed and `counter`, so a resumed run draws what an
    uninterrupted one would (`callbacks.ReseedNoise`). Training's own z noise is stateless.

    Keras's `SeedGenerator` draws `(a, b)`, `(a, b + 1)`, ... from state `(a, b)`, so the state
    is hashed (`seeds.derive`): from `(seed, counter)` itself, epoch e + 1's dropout masks
    would be epoch e's from its third draw on, and every stream would share seeds with the
    training z noise's `(seed, step)`."""
    state = seeds.derive([self.seed or 0, counter], 0)
    self.seed_generator.state.assign(tf.cast(state, self.seed_generator.state.dtype))

  # Dropout rates by name (where each model applies them: `d`, `z`, `emb_u`, `emb_x`), in
  # training only; models with dropout options fill it with `_set_dropout`.
  dropout: dict = {}

  def _set_dropout(self, **rates: float) -> None:
    """`self.dropout = rates`; they are the `dropout_<name>` arguments (checked with the
    others: `_check_hyperparameters`)."""
    self.dropout = rates

  def _drop(self, values, name, training):
    """`values` with dropout `self.dropout[name]` applied when `training`."""
    rate = self.dropout.get(name, 0.0)
    if not (training and rate):
      return values
    return keras.random.dropout(values, rate, seed=self.seed_generator)

  def reset_carried_state(self):
    for v in self._carried:
      v.assign(tf.zeros_like(v))

  def _training_noise(self, features):
    """Noise for a training step: drawn statelessly from (seed, step) for the global batch,
    each replica taking its rows, so training is the same under any distribution strategy
    (and after a resume, which restores the step)."""
    if not self.latent_size():
      return None
    ctx = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    local = tf.shape(features['x'])[0]
    shape = tf.concat([[local * replicas], tf.shape(features['x'])[1:2], [self.latent_size()]], 0)
    seed = tf.stack([tf.constant(self.seed or 0, tf.int64),
                     tf.cast(self.optimizer.iterations, tf.int64)])
    noise = tf.random.stateless_normal(shape, seed=seed)
    start = local * tf.cast(ctx.replica_id_in_sync_group, tf.int32) if ctx else 0
    return noise[start:start + local]

  def _objective(self, features, training, kl_weight):
    """Loss = -(log p(x|z) - beta * KL) summed over this replica's frames, divided by the
    frames of the whole (global) batch: summed over replicas it is the per-frame loss of the
    global batch, exactly as on one device."""
    state = [v.value for v in self._carried] if training and self._carried else None
    if state is not None and self.check_inputs:
      rows = f'{INPUT_ERROR}batches must have stateful_batch_size={self.stateful_batch_size} rows'
      if features['x'].shape[0] not in (None, self.stateful_batch_size):
        raise ValueError(f'{rows}, not {features["x"].shape[0]}')
      tf.debugging.Assert(tf.shape(features['x'])[0] == self.stateful_batch_size, [rows])
    noise = self._training_noise(features) if training else None
    terms = self.compute_terms(features, training=training, initial_state=state, noise=noise)
    mask = features['mask']
    frames = tf.reduce_sum(mask)
    ctx = tf.distribute.get_replica_context()
    global_frames = ctx.all_reduce('sum', frames) if ctx else frames
    log_px_sum = tf.reduce_sum(terms['log_px'] * mask)
    kl_sum = tf.reduce_sum(terms['kl'] * mask)
    if training and self.objective != 'elbo':
      seed = tf.stack([tf.constant(self.seed or 0, tf.int32),
                       tf.cast(self.optimizer.iterations, tf.int32)])
      log_z = smc.particle_log_likelihood(self, features, self.num_particles,
                                             resample=self.objective == 'fivo', seed=seed)
      loss = -tf.math.divide_no_nan(tf.reduce_sum(log_z), global_frames)
      log_px_sum, kl_sum = tf.stop_gradient(log_px_sum), tf.stop_gradient(kl_sum)
    else:
      kl_cost_sum = kl_sum
      if training and self.free_bits:   # free bits: below them a frame's KL costs them
        kl_cost_sum = tf.reduce_sum(tf.maximum(terms['kl'], self.free_bits) * mask)
      loss = -tf.math.divide_no_nan(log_px_sum - kl_weight * kl_cost_sum, global_frames)
      if training and self.aux_weight:
        terms['aux'] = self.aux_cost(terms['z'], features)
        loss += self.aux_weight * tf.math.divide_no_nan(terms['aux'], global_frames)
    log_px = tf.math.divide_no_nan(log_px_sum, frames)
    kl = tf.math.divide_no_nan(kl_sum, frames)
    return loss, log_px, kl, frames, terms

  def aux_cost(self, z, features):
    """The auxiliary cost summed over the frames that have a following frame: the
    cross-entropy of the head's pitch-class probabilities (from `z` `[B, T, Z]`) against the
    shares of the next `aux_frames` frames in which each class sounds (a scalar)."""
    targets, valid = note_features.future_pitch_classes(features['x'], features['mask'],
                                                        self.aux_frames)
    logits = self.aux_head(z)
    per_frame = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), -1)
    return tf.reduce_sum(per_frame * valid)

  @staticmethod
  def _step_logs(logs):
    # Keras 3 reduces multi-worker step logs with strategy.reduce('MEAN', v, axis=0), which
    # fails on scalars: give them a length-1 axis there (the reduction removes it again).
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
      return {k: tf.reshape(v, [1]) for k, v in logs.items()}
    return logs

  def _update_metrics(self, loss, log_px, kl, frames):
    # Weighted by frames, like the others: a batch with no frames (Keras may run an empty
    # final step on datasets of unknown size) must not count.
    self.loss_tracker.update_state(loss, sample_weight=frames)
    self.elbo_tracker.update_state(log_px - kl, sample_weight=frames)
    self.recon_tracker.update_state(-log_px, sample_weight=frames)
    self.kl_tracker.update_state(kl, sample_weight=frames)
    return {m.name: m.result() for m in self.metrics}

  def train_step(self, data):
    features = self._features(data)
    kl_weight = self.kl_weight()
    with tf.GradientTape() as tape, recurrences.matmul_precision(self.train_precision):
      # This replica's share of the global per-frame loss (see `_objective`).
      share, log_px, kl, frames, terms = self._objective(features, True, kl_weight)
    with recurrences.matmul_precision(self.train_precision):
      grads = tape.gradient(share, self.trainable_variables)
    # Keras clips before its cross-replica sum, i.e. per replica; clip the summed gradient
    # instead, then hand the optimizer 1/R of it: its own sum restores the clipped total.
    ctx = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
      grads = ctx.all_reduce('sum', grads)
    if self.clip_norm:
      grads, _ = tf.clip_by_global_norm(grads, self.clip_norm)
    if self.clip_value:
      grads = [tf.clip_by_value(g, -self.clip_value, self.clip_value) for g in grads]
    if replicas > 1:
      grads = [g / replicas for g in grads]
    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
    loss = ctx.all_reduce('sum', share) if replicas > 1 else share
    if self._carried:
      for v, s in zip(self._carried, tf.nest.flatten(terms['final_state'])):
        v.assign(tf.stop_gradient(s))
    logs = self._update_metrics(loss, log_px, kl, frames)
    if 'aux' in terms:   # this batch's auxiliary cost per frame, before its weight
      logs['aux'] = tf.math.divide_no_nan(terms['aux'], frames)
    logs['kl_weight'] = kl_weight
    logs['learning_rate'] = tf.convert_to_tensor(self.optimizer.learning_rate)
    return self._step_logs(logs)

  def test_step(self, data):
    features = self._features(data)
    loss, log_px, kl, frames, _ = self._objective(features, False, tf.constant(1.0))
    return self._step_logs(self._update_metrics(loss, log_px, kl, frames))

  def call(self, inputs, training=False):
    """Per-sequence ELBO terms, one posterior sample (what `predict` returns).

    Args:
      inputs: a piano roll `[B, T, 88]` or a feature dict (see `standardize_features`).

    Returns:
      A dict of `[B]` tensors: `elbo` (sum over frames), `log_px` (reconstruction
      log-likelihood), `kl`, `frames` (unmasked frames), and `elbo_per_step` = elbo / frames.
    """
    features = self._features(inputs)
    terms = self.compute_terms(features, training=training)
    return self.summarize(terms, features['mask'])

  # -- generation (through `generation_state` and `generation_step`) ------------------------

  def generate(self, num_steps, batch_size=1, seed=(0, 0), prime=None, temperature=1.0):
    """Samples piano rolls from the generative model, `x_t ~ p(x_t | state)`, `u_{t+1} = x_t`.

    Args:
      num_steps: frames to generate, T.
      batch_size: pieces to generate (ignored when `prime` is given: one per primer).
      seed: two ints; the same seed gives the same pieces (stateless random numbers).
      prime: optional piano rolls `[B, P, 88]` (or a feature dict): the model reads them
        (latent models through their inference network) and continues from there.
      temperature: divides the emission's logits (each key's, given the keys below with a
        NADE: `layers.FrameDistribution.sample`): below 1 the frames are surer, above 1
        noisier; the latent chain is sampled as the model has it. 1: the model itself.

    Returns:
      float32 `[B, T, 88]` of 0/1: the generated frames (after the primer, if any).
    """
    if tf.executing_eagerly():   # a user's call (the SavedModel's signatures check their own)
      _check_generate_arguments(num_steps, batch_size, seed, prime, temperature, self.num_keys)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
    # A tensor, so that a compiled `generate` serves every temperature without retracing.
    temperature = tf.convert_to_tensor(temperature, tf.float32)
    if prime is not None:
      prime = standardize_features(prime)
    if not tf.executing_eagerly():   # already inside a compiled function (export, benchmarks)
      return self._generate(num_steps, batch_size, seed, prime, temperature)
    # Run eagerly, the loop below costs ~15x more per frame than compiled (80 against 1,300
    # frames/s at the paper size).
    return compiled.per_object(self, 'generate', lambda model, *args: model._generate(*args))(
        num_steps, batch_size, seed, prime, temperature)

  def _generate(self, num_steps, batch_size, seed, prime, temperature):
    if prime is not None:
      batch_size = tf.shape(prime['x'])[0]
    state = self.generation_state(prime, batch_size, seeds.derive(seed, 1))
    shape = tf.stack([num_steps, batch_size])
    noise_z = tf.random.stateless_normal(tf.concat([shape, [max(self.latent_size(), 1)]], 0),
                                         seed=seeds.derive(seed, 2))
    uniform = tf.random.stateless_uniform(tf.concat([shape, [self.num_keys]], 0),
                                          seed=seeds.derive(seed, 3))

    def step(carry, elems):
      new_state, x = self.generation_step(carry[0], *elems, temperature)
      return new_state, x

    _, frames = tf.scan(step, (noise_z, uniform), (state, tf.zeros([batch_size, self.num_keys])))
    return tf.transpose(frames, [1, 0, 2])

  def latent_size(self):
    """Size of the latent variable per step (0: none; `LatentModel`s: z_dim)."""
    return 0

  @input_errors
  def score(self, inputs, seed=(0, 0)):
    """Per-sequence ELBO terms (as `call`) with noise drawn statelessly from `seed`, so the
    same inputs and seed always give the same numbers (what the serving signatures use)."""
    features = self._features(inputs)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
    if tf.executing_eagerly():   # compiled once; the lengths of pieces vary
      return compiled.per_object(self, 'score', lambda model, *args: model._score(*args),
                                 reduce_retracing=True)(features, seed)
    return self._score(features, seed)

  def _score(self, features, seed):
    noise = None
    if self.latent_size():
      shape = tf.concat([tf.shape(features['x'])[:2], [self.latent_size()]], 0)
      noise = tf.random.stateless_normal(shape, seed=seed)
    return self.summarize(self.compute_terms(features, noise=noise), features['mask'])

  @staticmethod
  def summarize(terms, mask):
    log_px = tf.reduce_sum(terms['log_px'] * mask, axis=1)
    kl = tf.reduce_sum(terms['kl'] * mask, axis=1)
    frames = tf.reduce_sum(mask, axis=1)
    return {'elbo': log_px - kl, 'log_px': log_px, 'kl': kl, 'frames': frames,
            'elbo_per_step': (log_px - kl) / tf.maximum(frames, 1.0)}

  def get_config(self):
    return {**super().get_config(), **self.hyperparameters()}


def _check_generate_arguments(num_steps, batch_size, seed, prime, temperature, num_keys):
  """Raises `ValueError` naming the first argument of `generate` that would give garbage or
  a graph error: a temperature of 0, below 0 or NaN (silence, or the distribution inverted),
  sizes below 1, a seed that is not two integers, a primer that is not a binary piano roll."""
  for name, value in (('num_steps', num_steps), ('batch_size', batch_size)):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
      raise ValueError(f'generate: {name}={value!r}: must be a positive integer')
  seed_array = np.asarray(seed)
  if seed_array.shape != (2,) or not np.issubdtype(seed_array.dtype, np.integer):
    raise ValueError(f'generate: seed={seed!r}: must be two integers')
  if not (isinstance(temperature, (int, float, np.number)) and np.isfinite(temperature)
          and temperature > 0):
    raise ValueError(f'generate: temperature={temperature!r}: must be a finite number above 0 '
                     '(1: the model itself)')
  if prime is not None:
    x = np.asarray(prime['x'] if isinstance(prime, dict) else prime)
    if x.ndim != 3 or x.shape[-1] != num_keys or x.shape[1] < 1:
      raise ValueError(f'generate: prime has shape {x.shape}: must be piano rolls '
                       f'[batch, frames >= 1, {num_keys}]')
    if not np.all((x == 0) | (x == 1)):
      raise ValueError('generate: prime holds values other than 0 and 1')


# The constructor arguments that are no `Config` field, and their least values.
_LEAST_COUNTS = {'kl_anneal_steps': 0, 'stateful_batch_size': 0, 'num_keys': 1}


def _check_hyperparameters(cls, values):
  """Raises `ValueError` naming the first constructor argument of the wrong type or out of
  its range: those of `Config`'s fields by the field's rule (`configs.value_problem`, the
  rule the flags have), and the two the factory derives. Defaults are not checked."""
  defaults = constructor_parameters(cls)
  for name, value in values.items():
    if value is defaults.get(name):
      continue
    if name in _LEAST_COUNTS:
      integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
      problem = None if integer and value >= _LEAST_COUNTS[name] else (
          f'must be an integer of at least {_LEAST_COUNTS[name]}')
    else:
      problem = configs.value_problem(name, value)
    if problem:
      raise ValueError(f'{cls.__name__}: {name}={value!r}: {problem}')


def constructor_parameters(cls) -> dict:
  """`{name: default}` of every named argument of the constructors of `cls` and of its bases
  up to `SequenceModel` (a subclass's first), without Keras's own (`name`, `dtype`, ...)."""
  parameters = {}
  for klass in cls.__mro__:
    if klass is keras.Model:
      break
    if '__init__' not in vars(klass):
      continue
    for name, p in inspect.signature(klass.__init__).parameters.items():
      if name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
        parameters.setdefault(name, p.default)
  return parameters


_KERAS_ARGUMENTS = ('name', 'trainable', 'dtype')


def _bind_hyperparameters(cls, args, kwargs) -> dict:
  bound = dict(zip(list(constructor_parameters(cls))[:len(args)], args))
  bound.update({k: v for k, v in kwargs.items() if k not in _KERAS_ARGUMENTS})
  parameters = constructor_parameters(cls)
  unknown = sorted(set(bound) - set(parameters))
  if unknown:   # as Python would say it, before Keras's Layer says it less clearly
    raise TypeError(f'{cls.__name__}() got unexpected keyword arguments: {", ".join(unknown)}')
  return {name: bound.get(name, default) for name, default in parameters.items()}


class FrameEmission:
  """Mixin of the models whose state gives a whole frame's distribution through an MLP (the
  RNN, VRNN and SRNN), with GRU recurrences.

  Args:
    gru_init: how every GRU's input and recurrent matrices start (`layers.GRU_INITS`).
    emission: the distribution of a frame given the state, `self.frame`: 'bernoulli'
      (independent keys, the paper's) or 'nade' (RNN-NADE's; `layers.FrameDistribution`).
    nade_units: the NADE's hidden units, H.
    **kwargs: the other options, for the next class in the MRO (`SequenceModel`'s).

  Subclasses define `self.emission`, the MLP from their state to the frame distribution's
  parameters (`self.frame.num_params` outputs).
  """

  def __init__(self, gru_init='orthogonal', emission='bernoulli', nade_units=150,
               **kwargs):
    super().__init__(**kwargs)
    self.gru_init = gru_init
    self.frame = layers.FrameDistribution(emission, nade_units, name='frame')

  @property
  def keys_in_order(self):
    return self.frame.kind == 'nade'

  def start_emission_from(self, nade_params):
    """Starts the NADE emission from an unconditional NADE (`nade.fit`'s result): its
    shared `W` and `V`, and its biases as the emission MLP's output biases, so that before
    training every state gives about that NADE (the MLP's output weights start small).
    RNN-NADE's pre-training; call it on the built model before training."""
    if self.frame.kind != 'nade':
      raise ValueError(f'the model\'s emission is {self.frame.kind!r}, not a NADE')
    self.frame.input_weights.assign(nade_params['input_weights'])
    self.frame.output_weights.assign(nade_params['output_weights'])
    self.emission.out.bias.assign(tf.concat(
        [nade_params['visible_bias'], nade_params['hidden_bias']], axis=0))


class LatentModel(SequenceModel, smc.ParticleModel):
  """A sequence model with a stochastic state z_t of size `z_dim` (SRNN, VRNN, DMM, STORN):
  trained and evaluated through a posterior q, run by the particle filter (`smc.ParticleModel`)
  for the IWAE and SMC bounds and objectives, and tuned by RL (`rl.policy`) through its
  generative model's `joint_log_prob`."""

  z_dim: int

  def latent_size(self):
    return self.z_dim

  def sample_posterior(self, features, initial_state=None, noise=None, training=False):
    """z ~ q(z | x) for every step, with the quantities the ELBO needs (model-specific)."""
    raise NotImplementedError

  def primed_posterior(self, prime, seed):
    """`sample_posterior` of a primer's features (generation's start), its noise drawn from
    `seed` (two int32s)."""
    noise = tf.random.stateless_normal(tf.concat([tf.shape(prime['x'])[:2], [self.z_dim]], 0),
                                       seed=seed)
    return self.sample_posterior(prime, noise=noise)

  def joint_log_prob(self, x, z):
    """`log p(z_t | .) + log p(x_t | .)` per step under the generative model, `[B, T]`, for
    all steps at once given the frames `x` `[B, T, 88]` and the latents `z` `[B, T, Z]`, from
    silence and the zero state (as `generate` without a primer starts).
    """
    raise NotImplementedError

  def generation_latent(self, state):
    """`z_t` `[B, Z]` in a state that `generation_step` returned."""
    raise NotImplementedError


def shift(v):
  """`[B, T, ...]` -> the previous step's values, zeros first (`u` from `x`, `z_{t-1}` from
  `z`)."""
  return tf.concat([tf.zeros_like(v[:, :1]), v[:, :-1]], axis=1)
