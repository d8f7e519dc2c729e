"""Keras layers of the stochastic recurrent models.

Notation (Fraccaro et al. 2016, [1]): `u_t` the input (previous frame), `x_t` the frame to
model, `d_t` the deterministic GRU state, `a_t` the inference network's state, `z_t` the
stochastic state. `B` is the batch, `T` time, `H` hidden units.

Speed comes from doing in parallel over time everything that is not recurrent: the GRUs
project their inputs for all steps in one matmul, and the z-chain's MLPs apply the part of
their first layer that sees `d_t`/`a_t` for all steps at once, so the loops hold only
`state @ recurrent_kernel` and what depends on it. The loops themselves, with hand-written
backward passes whose loops carry only the state's gradient, are in `recurrences.py`.

[1] M. Fraccaro, S. K. Sønderby, U. Paquet, O. Winther. Sequential Neural Models with
    Stochastic Layers. NIPS 2016. arXiv:1605.07571.
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import recurrences
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.nade import NADE
from srnn_tf.recurrences import linear, multi_head  # noqa: F401  (part of this module's API)

tfd = tfp.distributions

VARIANCE_FLOOR = recurrences.VARIANCE_FLOOR

def clipped_leaky_relu(x):
  """The paper's "clipped very leaky ReLU": slope 1/3 below 0, clipped to [-3, 3]."""
  return tf.clip_by_value(tf.nn.leaky_relu(x, alpha=1.0 / 3.0), -3.0, 3.0)


def dense(units, activation=None, name=None):
  """A Dense layer with the paper's initialisation (Glorot normal weights, zero biases)."""
  return keras.layers.Dense(units, activation=activation, name=name,
                            kernel_initializer='glorot_normal', bias_initializer='zeros')


def scale_from_log_var(log_var):
  """sigma = sqrt(exp(log sigma^2) + 1e-6): the floor keeps the variance off zero."""
  return tf.sqrt(tf.exp(log_var) + VARIANCE_FLOOR)


def diag_gaussian(mean, log_var):
  """`MultivariateNormalDiag` with batch shape `mean.shape[:-1]`, event shape `[Z]`."""
  return tfd.MultivariateNormalDiag(loc=mean, scale_diag=scale_from_log_var(log_var))


def importance_log_weight(x, frame, z, prior, posterior):
  """`log p(x | .) + log p(z | .) - log q(z | .)` for one step of every particle.

  Args:
    x: the frame `[B, 88]`, shared by the particles.
    frame: the emission `p(x_t | .)`, a distribution with batch shape `[B, K]`.
    z: the particles' samples `[B, K, Z]`.
    prior, posterior: `(mean, log_var)` pairs, each `[B, K, Z]`.

  Returns:
    `[B, K]` log-weights.
  """
  return (frame.log_prob(x[:, None]) + diag_gaussian(*prior).log_prob(z)
          - diag_gaussian(*posterior).log_prob(z))


def bernoulli_frames(logits):
  """Independent Bernoulli over the 88 keys: batch shape `logits.shape[:-1]`, event `[88]`."""
  return tfd.Independent(tfd.Bernoulli(logits=logits), reinterpreted_batch_ndims=1)


EMISSIONS = ('bernoulli', 'nade')


class FrameDistribution(keras.layers.Layer):
  """The emission's distribution over the 88 keys of a frame, from the parameters the
  model's emission MLP computes from its state.

  - 'bernoulli': the keys independent given the state; parameters: 88 logits.
  - 'nade': a NADE (`nade.py`) as in RNN-NADE: parameters: its 88 visible biases and
    `nade_units` hidden biases; its weights `W` `[H, 88]` and `V` `[88, H]` are this layer's,
    shared over time (and over everything that conditions the biases).

  Args:
    kind: one of `EMISSIONS`.
    nade_units: H, the NADE's hidden units.
  """

  def __init__(self, kind='bernoulli', nade_units=150, **kwargs):
    super().__init__(**kwargs)
    if kind not in EMISSIONS:
      raise ValueError(f'emission must be one of {EMISSIONS}, got {kind!r}')
    self.kind = kind
    self.nade_units = nade_units
    if kind == 'nade':
      self.input_weights = self.add_weight(name='input_weights', shape=(nade_units, NUM_KEYS),
                                           initializer='glorot_normal')
      self.output_weights = self.add_weight(name='output_weights',
                                            shape=(NUM_KEYS, nade_units),
                                            initializer='glorot_normal')

  @property
  def num_params(self):
    """Width of the parameter vector the emission MLP must output."""
    return NUM_KEYS + (self.nade_units if self.kind == 'nade' else 0)

  def distribution(self, params):
    """`params` `[..., num_params]` -> a distribution with batch shape `[...]`, event `[88]`."""
    if self.kind == 'bernoulli':
      return bernoulli_frames(params)
    return NADE(params[..., :NUM_KEYS], params[..., NUM_KEYS:], self.input_weights.value,
                self.output_weights.value)

  def sample(self, params, uniform, temperature=1.0):
    """Frames `[..., 88]` of 0/1 drawn with the given `U(0, 1)` noise `[..., 88]` (one number
    per key), so that generation stays stateless and repeatable. `temperature` divides each
    key's logit (for NADE its conditional logit given the keys below: `NADE.sample_with_uniform`);
    for independent keys that is exactly the tempered frame distribution `p(x)^(1/T) / Z`."""
    if self.kind == 'bernoulli':
      return tf.cast(uniform < tf.sigmoid(params / temperature), tf.float32)
    return self.distribution(params).sample_with_uniform(uniform, temperature)

  def key_probabilities(self, params, x):
    """Each key's probability of sounding, `[..., 88]`: `p(x_d = 1 | state)` for independent
    keys; for NADE, `p(x_d = 1 | x_<d, state)`, given the true lower keys of `x`."""
    if self.kind == 'bernoulli':
      return tf.sigmoid(params)
    return self.distribution(params).conditional_probs(x)

  def get_config(self):
    return {**super().get_config(), 'kind': self.kind, 'nade_units': self.nade_units}


class MLP(keras.layers.Layer):
  """Hidden layers with the clipped leaky ReLU, then an optional linear output layer."""

  def __init__(self, hidden_units, output_units=None, output_activation=False, **kwargs):
    super().__init__(**kwargs)
    self.hidden_units = tuple(hidden_units)
    self.output_units = output_units
    self.output_activation = output_activation
    self.hidden = [dense(h, clipped_leaky_relu, name=f'hidden_{i}')
                   for i, h in enumerate(self.hidden_units)]
    self.out = None
    if output_units:
      self.out = dense(output_units, clipped_leaky_relu if output_activation else None,
                       name='out')

  def build(self, input_shape):
    shape = input_shape
    for layer in self.hidden + ([self.out] if self.out else []):
      layer.build(shape)
      shape = (*shape[:-1], layer.units)

  def call(self, inputs):
    h = inputs
    for layer in self.hidden + ([self.out] if self.out else []):
      h = layer(h)
    return h

  def get_config(self):
    return {**super().get_config(), 'hidden_units': self.hidden_units,
            'output_units': self.output_units, 'output_activation': self.output_activation}


@keras.saving.register_keras_serializable(package='srnn_tf')
class PerGateOrthogonal(keras.initializers.Initializer):
  """A `[D, G * H]` matrix as G independent orthogonal `[D, H]` blocks, one per gate.

  This is how the SRNN release's Lasagne GRUs start (each gate's `W_in` and `W_hid` its own
  `Orthogonal()`): every gate block has all singular values 1. Keras's `'orthogonal'` on the
  stacked `[D, 3H]` matrix instead makes the whole matrix orthogonal, so each block's
  singular values are smaller (RMS about sqrt(1/3) for the square recurrent kernel).
  """

  def __init__(self, gates=3, seed=None):
    self.gates = gates
    self.seed = seed

  def __call__(self, shape, dtype=None):
    rows, cols = shape
    if cols % self.gates:
      raise ValueError(f'PerGateOrthogonal: {cols} columns do not split into {self.gates} gates')
    seeds = [None] * self.gates if self.seed is None else [self.seed + g for g in
                                                         range(self.gates)]
    return tf.concat([keras.initializers.Orthogonal(seed=s)((rows, cols // self.gates), dtype)
                      for s in seeds], axis=1)

  def get_config(self):
    return {'gates': self.gates, 'seed': self.seed}


GRU_INITS = ('orthogonal', 'orthogonal_per_gate')


class ProjectedGRU(keras.layers.Layer):
  """A GRU whose input projection runs for all time steps at once, before the loop.

  The weights have the layout of `keras.layers.GRUCell(reset_after=True)`: `kernel`
  `[D, 3H]`, `recurrent_kernel` `[H, 3H]`, `bias` `[2, 3H]` (input and recurrent bias), gates
  in the order update, reset, candidate, so results can be checked against Keras's own cell.

  Args:
    units: H.
    init: 'orthogonal' (Keras's orthogonal on the stacked `[D, 3H]` and `[H, 3H]` matrices;
      ahead on validation in 6 of the 8 corpus/version pairs) or 'orthogonal_per_gate' (the
      release's: each gate's block orthogonal on its own).
  """

  def __init__(self, units, init='orthogonal', **kwargs):
    super().__init__(**kwargs)
    if init not in GRU_INITS:
      raise ValueError(f'GRU init must be one of {GRU_INITS}, got {init!r}')
    self.units = units
    self.init = init

  def build(self, input_shape):
    h = self.units
    initializer = PerGateOrthogonal if self.init == 'orthogonal_per_gate' else \
        keras.initializers.Orthogonal
    parts = input_shape if isinstance(input_shape, (list, tuple)) and isinstance(
        input_shape[0], (list, tuple)) else [input_shape]
    self.kernel = self.add_weight(name='kernel', shape=(sum(p[-1] for p in parts), 3 * h),
                                  initializer=initializer())
    self.recurrent_kernel = self.add_weight(name='recurrent_kernel', shape=(h, 3 * h),
                                            initializer=initializer())
    self.bias = self.add_weight(name='bias', shape=(2, 3 * h), initializer='zeros')

  def project(self, inputs):
    """`[..., D]` -> `[..., 3H]`: the input half of every gate.

    `inputs` may also be a list of parts `[..., D_i]` of the input (their concatenation
    along the last axis). Each part then gets its own product with its rows of the kernel,
    so a part that is ready early (the SRNN's `e(x_t)`, next to `d_t` from a loop) is
    projected while the loop runs, on the other core; and so is its gradient after.
    """
    if not isinstance(inputs, (list, tuple)):
      return linear(inputs, self.kernel, self.bias[0])
    kernel, start, projected = self.kernel.value, 0, self.bias[0]
    for part in inputs:
      width = part.shape[-1]
      projected = projected + linear(part, kernel[start:start + width])
      start += width
    return projected

  def step(self, projected_t, h_prev):
    """One GRU update from a projected input `[..., 3H]` and state `[..., H]`."""
    return recurrences.gru_step(projected_t, h_prev, self.recurrent_kernel.value, self.bias[1])

  def call(self, inputs, frame_mask=None, reverse=False, initial_state=None):
    """Runs the GRU over `inputs` `[B, T, D]`.

    Args:
      inputs: `[B, T, D]`, or a list of its parts (see `project`).
      frame_mask: optional `[B, T]`; where 0 the state is held. Sequences are padded at the end,
        so a reversed GRU starts each sequence from the zero state at its own last frame.
      reverse: run backwards in time (`h_t` depends on `t..T`).
      initial_state: `[B, H]`, zeros by default.

    Returns:
      States `[B, T, H]` (`h_t` after reading step `t`).
    """
    projected = tf.transpose(self.project(inputs), [1, 0, 2])  # time-major for the loop
    if initial_state is None:
      initial_state = tf.zeros_like(projected[0, :, :self.units])
    if frame_mask is None:
      keep = tf.ones_like(projected[..., :1])
    else:
      keep = tf.transpose(tf.cast(frame_mask, projected.dtype))[:, :, None]
    states = recurrences.gru(projected, initial_state, self.recurrent_kernel.value,
                             self.bias[1], keep, reverse=reverse)
    return tf.transpose(states, [1, 0, 2])

  def get_config(self):
    return {**super().get_config(), 'units': self.units, 'init': self.init}


class ProjectedLSTM(keras.layers.Layer):
  """An LSTM whose input projection runs for all steps at once, before the loop (as
  `ProjectedGRU`); the tied-parallel models run it along time and along the keys.

  The weights have the layout of `keras.layers.LSTMCell`: `kernel` `[D, 4H]`,
  `recurrent_kernel` `[H, 4H]`, `bias` `[4H]`, gates in the order input, forget, candidate,
  output, so results can be checked against Keras's own cell. Initialised as Keras's LSTM
  (the forget gate's bias at 1), but with each gate's recurrent block orthogonal on its own
  and Glorot-normal input weights, as every other layer here.

  Args:
    units: H.
  """

  def __init__(self, units, **kwargs):
    super().__init__(**kwargs)
    self.units = units

  def build(self, input_shape):
    h = self.units
    self.kernel = self.add_weight(name='kernel', shape=(input_shape[-1], 4 * h),
                                  initializer='glorot_normal')
    self.recurrent_kernel = self.add_weight(name='recurrent_kernel', shape=(h, 4 * h),
                                            initializer=PerGateOrthogonal(gates=4))
    self.bias = self.add_weight(
        name='bias', shape=(4 * h,),
        initializer=lambda shape, dtype=None: tf.concat(
            [tf.zeros([h]), tf.ones([h]), tf.zeros([2 * h])], 0))

  def project(self, inputs):
    """`[..., D]` -> `[..., 4H]`: the input half of every gate (no bias: `step` adds it)."""
    return linear(inputs, self.kernel)

  def step(self, projected_t, state):
    """One update from a projected input `[..., 4H]` and `state = (h, c)`, each `[..., H]`;
    returns the new `(h, c)`."""
    return recurrences.lstm_step(projected_t, *state, self.recurrent_kernel.value,
                                 self.bias.value)

  def call(self, inputs, keep=None, initial_state=None):
    """Runs the LSTM along the leading axis of step-major `inputs` `[S, N, D]`.

    Args:
      inputs: `[S, N, D]`: S steps (frames or keys) of N rows.
      keep: optional `[S, N, 1]`; where 0 the state is held (padding).
      initial_state: `(h, c)`, each `[N, H]`; zeros by default.

    Returns:
      `(h, c)`, each `[S, N, H]` (the state after each step).
    """
    projected = self.project(inputs)
    if initial_state is None:
      zeros = tf.zeros_like(projected[0, :, :self.units])
      initial_state = (zeros, zeros)
    if keep is None:
      keep = tf.ones_like(projected[..., :1])
    return recurrences.lstm(projected, *initial_state, self.recurrent_kernel.value,
                            self.bias.value, keep)

  def get_config(self):
    return {**super().get_config(), 'units': self.units}


class GaussianMLP(keras.layers.Layer):
  """A diagonal Gaussian over `z_t` given a context `c_t` and the previous `z_{t-1}`.

  The mean and the log-variance each have their own one-hidden-layer MLP on `[c_t, z_{t-1}]`.
  Their first layers split into a context part (computed for all `t` at once by `hoist`)
  and a `z` part (inside the loop).
  """

  def __init__(self, z_dim, hidden_units, **kwargs):
    super().__init__(**kwargs)
    self.z_dim = z_dim
    self.hidden_units = hidden_units
    self.mean_hidden = dense(hidden_units, name='mean_hidden')
    self.mean_out = dense(z_dim, name='mean_out')
    self.log_var_hidden = dense(hidden_units, name='log_var_hidden')
    self.log_var_out = dense(z_dim, name='log_var_out')

  def build(self, input_shape):
    context_shape, z_shape = input_shape
    joint = (*context_shape[:-1], context_shape[-1] + z_shape[-1])
    for hidden, out in ((self.mean_hidden, self.mean_out),
                        (self.log_var_hidden, self.log_var_out)):
      hidden.build(joint)
      out.build((*joint[:-1], self.hidden_units))
    self.context_dim = context_shape[-1]

  def call(self, inputs):
    """`(c [..., C], z_prev [..., Z])` -> `(mean, log_var)`, each `[..., Z]`."""
    return tuple(self.head(name, *inputs) for name in ('mean', 'log_var'))

  def head(self, name, c, z_prev):
    """One head ('mean' or 'log_var') `[..., Z]` of `c` `[..., C]` and `z_prev` `[..., Z]`."""
    hidden = getattr(self, f'{name}_hidden')(tf.concat([c, z_prev], axis=-1))
    return getattr(self, f'{name}_out')(clipped_leaky_relu(hidden))

  # The split of the first layer: hidden = act(c @ K[:C] + z @ K[C:] + b).
  def hoist(self, c, heads=('mean', 'log_var')):
    """The context part of the heads' first layers: `[..., C]` -> `[..., len(heads) * H]`."""
    layers = [getattr(self, f'{h}_hidden') for h in heads]
    kernel = tf.concat([l.kernel.value[:self.context_dim] for l in layers], axis=1)
    bias = tf.concat([l.bias.value for l in layers], axis=0)
    return linear(c, kernel, bias)

  def z_kernel(self, heads=('mean', 'log_var')):
    """The `z` part of the heads' first layers, `[Z, len(heads) * H]`."""
    return tf.concat([getattr(self, f'{h}_hidden').kernel.value[self.context_dim:] for h in heads],
                     axis=1)

  def out_kernels(self, heads=('mean', 'log_var')):
    """The heads' output layers: lists of kernels `[H, Z]` and biases `[Z]`."""
    layers = [getattr(self, f'{h}_out') for h in heads]
    return [l.kernel.value for l in layers], [l.bias.value for l in layers]

  def from_hoisted(self, hoisted, z_prev, heads=('mean', 'log_var')):
    """The heads given `hoist(c)` `[..., len(heads) * H]` and `z_prev` `[..., Z_in]`.

    Returns:
      A list of `[..., Z]` tensors, one per head.
    """
    hidden = clipped_leaky_relu(hoisted + linear(z_prev, self.z_kernel(heads)))
    return multi_head(hidden, *self.out_kernels(heads))

  def get_config(self):
    return {**super().get_config(), 'z_dim': self.z_dim, 'hidden_units': self.hidden_units}


class StochasticTransition(keras.layers.Layer):
  """The z chain: prior `p(z_t | z_{t-1}, d_t)` and posterior `q(z_t | z_{t-1}, a_t)`.

  With `resq`, the posterior mean is a residual on the prior mean: `mu_q = mu_p + delta`.
  `posterior_chain` samples `z_{1:T}` from q by reparameterisation (`z_0 = 0`); the loop
  holds only the `z`-dependent half of the MLPs. The prior given a sampled chain is then
  computed in parallel over time by `prior`.
  """

  def __init__(self, z_dim, hidden_units, resq=True, **kwargs):
    super().__init__(**kwargs)
    self.z_dim = z_dim
    self.hidden_units = hidden_units
    self.resq = resq
    self.prior_net = GaussianMLP(z_dim, hidden_units, name='prior')
    self.posterior_net = GaussianMLP(z_dim, hidden_units, name='posterior')

  def build(self, input_shape):
    d_shape, a_shape = input_shape
    z_shape = (*d_shape[:-1], self.z_dim)
    self.prior_net.build((d_shape, z_shape))
    self.posterior_net.build((a_shape, z_shape))

  def prior(self, d, z_prev, mean=None):
    """`p(z_t | z_{t-1}, d_t)` for all `t` at once: `(mean, log_var)`, each `[B, T, Z]`.

    A `mean` already computed (`posterior_chain`'s `mean_p`) is used, not recomputed.
    """
    if mean is None:
      return self.prior_net((d, z_prev))
    return mean, self.prior_net.head('log_var', d, z_prev)

  def posterior(self, a, z_prev, prior_mean=None):
    """`q(z_t | z_{t-1}, a_t)` given `z_{t-1}` (no sampling): `(mean, log_var)`.

    With `resq`, `prior_mean` (`mu_p` for the same `z_{t-1}`) is added to the mean.
    """
    mean, log_var = self.posterior_net((a, z_prev))
    return (mean + prior_mean if self.resq else mean), log_var

  def posterior_chain(self, d, a, noise, z_0=None):
    """Samples `z_{1:T} ~ q` given `d`, `a` `[B, T, *]` and standard normal noise `[B, T, Z]`.

    `z_0` `[B, Z]` is the state before the first step (zeros by default).

    Returns:
      `(z, mean_q, log_var_q, mean_p)`, each `[B, T, Z]`: with `resq` the chain computes the
      prior mean `mu_p(z_{t-1}, d_t)` anyway and hands it over; without, `mean_p` is None.
    """
    if not self.built:
      self.build((d.shape, a.shape))
    post = self.posterior_net
    hoisted = [post.hoist(a)]
    z_kernels = [post.z_kernel()]
    out_k, out_b = post.out_kernels()
    if self.resq:
      prior = self.prior_net
      hoisted.append(prior.hoist(d, heads=('mean',)))
      z_kernels.append(prior.z_kernel(heads=('mean',)))
      pk, pb = prior.out_kernels(heads=('mean',))
      out_k, out_b = out_k + pk, out_b + pb
    hoisted = tf.transpose(tf.concat(hoisted, -1), [1, 0, 2])   # [T, B, heads * H]
    noise = tf.transpose(noise, [1, 0, 2])
    z_0 = tf.zeros_like(noise[0]) if z_0 is None else z_0
    chain = recurrences.gaussian_chain(hoisted, noise, z_0, tf.concat(z_kernels, axis=1),
                                       out_k, out_b, self.resq)
    chain = [tf.transpose(v, [1, 0, 2]) for v in chain]
    return tuple(chain) + (() if self.resq else (None,))

  def sample(self, d, a, noise, z_0=None):
    """`posterior_chain` with the sample shifted: `(z, z_prev, q, mean_p)`, `z_prev` `[B, T, Z]`
    (`z_0` first, zeros by default) and `q` the posterior, batch shape `[B, T]`."""
    z, mean_q, log_var_q, mean_p = self.posterior_chain(d, a, noise, z_0)
    z_0 = tf.zeros_like(z[:, 0]) if z_0 is None else z_0
    z_prev = tf.concat([z_0[:, None], z[:, :-1]], axis=1)
    return z, z_prev, diag_gaussian(mean_q, log_var_q), mean_p

  def propose(self, prior_hoisted, posterior_hoisted, z_prev, noise):
    """One step of the chain for particles, from the hoisted contexts (`hoist` of `d_t` and
    `a_t`, broadcastable against `z_prev` `[B, K, Z]`): `z_t ~ q(z_t | z_{t-1}, a_t)` with
    `noise` `[B, K, Z]`, and the prior's and posterior's `(mean, log_var)`."""
    mean_p, log_var_p = self.prior_net.from_hoisted(prior_hoisted, z_prev)
    delta, log_var_q = self.posterior_net.from_hoisted(posterior_hoisted, z_prev)
    mean_q = mean_p + delta if self.resq else delta
    z = mean_q + scale_from_log_var(log_var_q) * noise
    return z, (mean_p, log_var_p), (mean_q, log_var_q)

  def get_config(self):
    return {**super().get_config(), 'z_dim': self.z_dim, 'hidden_units': self.hidden_units,
            'resq': self.resq}
