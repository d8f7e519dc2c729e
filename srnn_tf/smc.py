"""The particle filter behind the IWAE and SMC/FIVO bounds (Burda et al. 2016; Maddison et
al. 2017), for evaluation (`bounds`) and as a training objective (`models.base`).

`particle_log_likelihood` runs K particles through a latent model's z chain step by step,
with the model's posterior q as the proposal, accumulating `log Z_t = log sum_k wbar_{t-1}^k
alpha_t^k`. With `resample=True` it resamples (multinomially) when the effective sample size
falls below a fraction of K: the SMC (FIVO) bound. Without, the sum telescopes to IWAE's
log-mean-exp of whole-chain weights. Memory is `O(B K Z)` per step whatever the length.
"""

import math

import tensorflow as tf

from srnn_tf import compiled, seeds
from srnn_tf.features import standardize_features


class ParticleModel:
  """What the particle filter needs of a latent model (`models.SRNN` and `models.VRNN`
  implement it; `particle_log_likelihood` checks with `isinstance`).

  The filter transposes the inputs to time-major itself; the state is any nest of tensors
  `[B, K, ...]`, gathered along K when particles are resampled.
  """

  z_dim: int

  def particle_inputs(self, features):
    """Per-step inputs of the filter (everything that does not depend on z), batch-major
    nest of `[B, T, ...]`, computed once for all particles."""
    raise NotImplementedError

  def particle_initial_state(self, batch_size, num_particles):
    """The state before the first step: nest of `[B, K, ...]`."""
    raise NotImplementedError

  def particle_step(self, state, inputs, noise):
    """One step: proposes z_t ~ q with `noise` `[B, K, z_dim]` from `state` given this
    step's `inputs` (`[B, ...]`), returning `(new state, log_alpha [B, K])` where
    `log_alpha = log p(x_t, z_t | z_<t, x_<t) - log q(z_t | ...)`."""
    raise NotImplementedError


def step_seeds(seed, t):
  """The stateless seeds of step `t`'s proposal noise and resampling, `([2], [2])` int32,
  unrelated to those of every other seed and step (`seeds.derive`)."""
  return seeds.derive(seed, 2 * t), seeds.derive(seed, 2 * t + 1)


def _time_major_array(v):
  """`[B, T, ...]` -> a TensorArray of T `[B, ...]` steps.

  The loop reads step t from it rather than slicing a `[T, B, ...]` tensor: the gradient of a
  slice `v[t]` inside a while loop is a dense `[T, B, ...]` tensor at every step (O(T^2) over
  a sequence), a TensorArray read's is the one step. A paper-size FIVO training step (K = 4)
  is 1.20x faster so (`results/benchmarks/fivo.txt`), with the same values and gradients.
  """
  steps = tf.transpose(v, [1, 0] + list(range(2, v.shape.rank)))
  return tf.TensorArray(v.dtype, size=tf.shape(steps)[0],
                        element_shape=steps.shape[1:]).unstack(steps)


def particle_log_likelihood(model, features, num_particles, resample=True,
                            ess_threshold=0.5, seed=(0, 0)):
  """IWAE (`resample=False`) or SMC/FIVO (`resample=True`) estimate of log p(x) per sequence.

  Args:
    model: a latent model with the particle interface (`SRNN`, `VRNN`); for models without
      latent variables (`RNN`) the exact log-likelihood is returned.
    features: {'x', 'u': `[B, T, 88]`, 'mask': `[B, T]`}, padded at the end.
    num_particles: K.
    resample: resample when the ESS < `ess_threshold * K`.
    seed: two ints (stateless RNG): the same seed gives the same estimate.

  Returns:
    `[B]` log-likelihood estimates (nats per sequence).
  """
  features = standardize_features(features)
  if tf.executing_eagerly():
    # Called eagerly, the loop would run op by op (`compiled.per_object`): traced once per
    # model and arguments, for any batch and length (the loop's state has no static batch).
    keys = features['x'].shape[-1]
    signature = [{'x': tf.TensorSpec([None, None, keys], tf.float32),
                  'u': tf.TensorSpec([None, None, keys], tf.float32),
                  'mask': tf.TensorSpec([None, None], tf.float32)},
                 tf.TensorSpec([2], tf.int32)]
    traced = compiled.per_object(
        model, ('particle_log_likelihood', num_particles, resample, ess_threshold, keys),
        lambda model, f, s: _log_likelihood(model, f, num_particles, resample,
                                            ess_threshold, s),
        input_signature=signature)
    return traced({k: features[k] for k in ('x', 'u', 'mask')},
                  tf.cast(tf.convert_to_tensor(seed), tf.int32))
  return _log_likelihood(model, features, num_particles, resample, ess_threshold, seed)


def _log_likelihood(model, features, num_particles, resample, ess_threshold, seed):
  """`particle_log_likelihood`'s loop (run op by op under `tf.config.run_functions_eagerly`)."""
  if not isinstance(model, ParticleModel):
    terms = model.compute_terms(features)
    return tf.reduce_sum(terms['log_px'] * features['mask'], axis=1)
  k = num_particles
  inputs = tf.nest.map_structure(_time_major_array, model.particle_inputs(features))
  mask = tf.transpose(features['mask'])
  batch, steps = tf.shape(mask)[1], tf.shape(mask)[0]
  seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
  uniform = tf.fill([batch, k], -math.log(k))   # normalised log-weights: log sum exp = 0
  identity = tf.broadcast_to(tf.range(k, dtype=tf.int64), [batch, k])

  def step(t, state, log_w, log_z):
    noise_seed, ancestor_seed = step_seeds(seed, t)
    noise = tf.random.stateless_normal([batch, k, model.z_dim], seed=noise_seed)
    step_inputs = tf.nest.map_structure(lambda a: a.read(t), inputs)
    state, log_alpha = model.particle_step(state, step_inputs, noise)
    log_alpha = tf.ensure_shape(log_alpha, [None, k])  # K=1 would otherwise lose its width
    log_w = log_w + log_alpha * mask[t][:, None]     # padded steps weigh nothing
    increment = tf.reduce_logsumexp(log_w, axis=1)
    log_w -= increment[:, None]
    if resample:
      ess = 1.0 / tf.reduce_sum(tf.exp(2.0 * log_w), axis=1)
      needed = ess < ess_threshold * k
      ancestors = tf.random.stateless_categorical(log_w, k, seed=ancestor_seed)
      ancestors = tf.where(needed[:, None], ancestors, identity)
      state = tf.gather(state, ancestors, batch_dims=1)
      log_w = tf.where(needed[:, None], uniform, log_w)
    return t + 1, state, log_w, log_z + increment

  # An explicit while_loop (not AutoGraph): Keras traces train steps without AutoGraph.
  _, _, _, log_z = tf.while_loop(
      lambda t, *_: t < steps, step,
      (tf.constant(0), model.particle_initial_state(batch, k), uniform, tf.zeros([batch])))
  return log_z
