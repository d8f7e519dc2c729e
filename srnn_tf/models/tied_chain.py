"""The SRNN's stochastic chain on the tied-parallel models: a frame-level latent state for
models whose keys see only their own neighbourhood.

The tied models (`tied.py`) give every key `n` a time-axis output `o_{t,n}` from its own window
and pitch-class bins; nothing in them summarises the frame as a whole. This adds the SRNN's z
chain (Fraccaro et al. 2016) at the frame level:

    o_{t,n}      the tied model's time axis over the previous frames (no z in it)
    d_t = mean_n o_{t,n}                                             the frame state
    p(z_t | z_{t-1}, d_t) = N(mu_p, sigma_p^2)                      the SRNN's transition
    p(v_t | z_t, o_t) = the tied model's key axis on o_{t,n} + W z_t  (every key)

and the SRNN's inference network: `a_t = GRU_a<-(a_{t+1}, [d_t, e(v_t)])`,
`q(z_t | z_{t-1}, a_t)` with the residual mean on the prior's (Resq).

Why the mean of the keys' time-axis outputs as `d_t`, not a GRU of its own: it costs nothing
(the time axis runs anyway), it reads the whole keyboard's history through every key's LSTM,
and its gradient trains the time axis too. Why z only after the time axis: the time axis, the
costly part (88 LSTM rows per piece), does not depend on z, so it runs once for all particles,
and the per-particle work of IWAE and SMC is the key axis alone. `W z_t` added to every key's
`o_{t,n}` is the same as concatenating `z_t` to the key axis's input where `z` has no more
units than `o` (the key axis's first operation on `o` is linear).

`--model=srnn_balstm` and `--model=srnn_tp_lstm_nade` (`factory.MODELS`).
"""

from typing import NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import layers
from srnn_tf.models.base import LatentModel, shift
from srnn_tf.models.tied import BALSTM, TPLSTMNADE, bernoulli_log_prob


class Posterior(NamedTuple):
  """One sample of `z_{1:T} ~ q`, with what came with it.

  Attributes:
    o: the time axis's outputs `[B, T, K, H]`; `time_final` its final state.
    d: the frame states `[B, T, H]`.
    z, z_prev: the sample and the sample shifted (`z_0` first), `[B, T, Z]`.
    q: the posterior, batch shape `[B, T]`, event `[Z]`.
    prior_mean: `mu_p(z_{t-1}, d_t)` `[B, T, Z]` (Resq), else None.
  """
  o: tf.Tensor
  time_final: tuple
  d: tf.Tensor
  z: tf.Tensor
  z_prev: tf.Tensor
  q: tfp.distributions.Distribution
  prior_mean: tf.Tensor | None


class TiedChain(LatentModel):
  """The z chain over a tied model's frames; mixed in before `BALSTM` or `TPLSTMNADE`.

  Args:
    z_dim: size of z_t.
    a_dim: size of the inference GRU's state a_t.
    hidden_units: hidden units of the transition's prior and posterior MLPs.
    embed_units: layer sizes of the embedding MLP e(.) of v_t into the inference network.
    resq: the posterior mean as a residual on the prior mean.
    **kwargs: the tied model's options (`BALSTM`, `TPLSTMNADE`) and training options.
  """

  def __init__(self, z_dim=100, a_dim=300, hidden_units=500, embed_units=(500, 500),
               resq=True, **kwargs):
    super().__init__(**kwargs)
    self.z_dim, self.a_dim = z_dim, a_dim
    self.hidden_units = hidden_units
    self.embed_units = tuple(embed_units)
    self.resq = resq
    frame = self.time_units[-1]
    self.embed = layers.MLP(self.embed_units, name='embed')
    self.embed.build((None, self.num_keys))
    self.gru_a = layers.ProjectedGRU(a_dim, name='gru_a')
    self.gru_a.build((None, frame + self.embed_units[-1]))
    self.transition = layers.StochasticTransition(z_dim, hidden_units, resq, name='transition')
    self.transition.build(((None, frame), (None, a_dim)))
    self.z_to_keys = layers.dense(frame, name='z_to_keys')                    # W
    self.z_to_keys.build((None, z_dim))

  def state_sizes(self):
    return (*super().state_sizes(), self.z_dim)

  @staticmethod
  def frame_state(o):
    """`d_t = mean_n o_{t,n}`: `[..., K, H]` -> `[..., H]`."""
    return tf.reduce_mean(o, axis=-2)

  def with_z(self, o, z):
    """`o_{t,n} + W z_t`: `o` `[..., K, H]`, `z` `[..., Z]`."""
    return o + self.z_to_keys(z)[..., None, :]

  def sample_posterior(self, features, initial_state=None, noise=None, training=False):
    """One reparameterised sample of `z_{1:T} ~ q(z | v)`: a `Posterior`."""
    x, mask = features['x'], features['mask']
    time_state, z_0 = ((None, None) if initial_state is None else
                       (tuple(initial_state[:-1]), initial_state[-1]))
    o, time_final = self.time_axis(features['u'], mask, training, time_state)
    d = self.frame_state(o)
    a = self.gru_a([d, self.embed(x)], frame_mask=mask, reverse=True)
    if noise is None:
      noise = keras.random.normal(tf.concat([tf.shape(x)[:2], [self.z_dim]], 0),
                                  seed=self.seed_generator)
    return Posterior(o, time_final, d, *self.transition.sample(d, a, noise, z_0))

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Per-frame ELBO terms with one posterior sample.

    Returns:
      {'log_px': `[B, T]`, 'kl': `[B, T]`, 'z': `[B, T, Z]`, 'final_state': the time
      axis's, then `z_T`}.
    """
    post = self.sample_posterior(features, initial_state, noise, training)
    x = features['x']
    log_px = bernoulli_log_prob(self.key_logits(self.with_z(post.o, post.z), x, training), x)
    prior = self.transition.prior(post.d, post.z_prev, mean=post.prior_mean)
    kl = post.q.kl_divergence(layers.diag_gaussian(*prior))
    return {'log_px': log_px, 'kl': kl, 'z': post.z,
            'final_state': (*post.time_final, post.z[:, -1])}

  def joint_log_prob(self, x, z):
    """`log p(z_t | z_{t-1}, d_t) + log p(v_t | z_t, o_t)` `[B, T]`, in parallel over time."""
    o, _ = self.time_axis(shift(x))
    prior = layers.diag_gaussian(*self.transition.prior(self.frame_state(o), shift(z)))
    return prior.log_prob(z) + bernoulli_log_prob(self.key_logits(self.with_z(o, z), x), x)

  # -- generation and reconstruction -----------------------------------------------------------

  def generation_state(self, prime, batch_size, seed):
    """The time axis's rows (h, c per layer), `z` and the last frame."""
    if prime is None:
      *rows, v = super().generation_state(None, batch_size, seed)
      return (*rows, tf.zeros([batch_size, self.z_dim]), v)
    post = self.primed_posterior(prime, seed)
    return (*self.time_rows(post.time_final), post.z[:, -1], prime['x'][:, -1])

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    """The time axis's step, `z_t ~ p(z_t | z_{t-1}, d_t)`, then the keys given `o_t + W z_t`."""
    *lstm_states, z_prev, v_prev = state
    new_states, o = self.time_step(lstm_states, v_prev)
    mean, log_var = self.transition.prior(self.frame_state(o), z_prev)
    z = mean + layers.scale_from_log_var(log_var) * noise_z
    v = self.sample_keys(self.with_z(o, z), uniform, temperature)
    return (*new_states, z, v), v

  def generation_latent(self, state):
    return state[-2]

  def reconstruct(self, inputs, noise=None):
    """Each key's probability `[B, T, K]` given the previous frames, the frame's true lower
    keys and z from q (`noise` `[B, T, Z]`; None: the chain of posterior means)."""
    features = self._features(inputs)
    if noise is None:
      noise = tf.zeros(tf.concat([tf.shape(features['x'])[:2], [self.z_dim]], 0))
    post = self.sample_posterior(features, noise=noise)
    return tf.sigmoid(self.key_logits(self.with_z(post.o, post.z), features['x']))

  # -- particles: only the key axis per particle ----------------------------------------------

  def particle_inputs(self, features):
    """The time axis's `o` `[B, T, K, H]`, the prior's and the posterior's hoisted inputs,
    and the frames: shared by the particles."""
    x, mask = features['x'], features['mask']
    o, _ = self.time_axis(features['u'], mask)
    d = self.frame_state(o)
    a = self.gru_a([d, self.embed(x)], frame_mask=mask, reverse=True)
    return {'o': o, 'prior': self.transition.prior_net.hoist(d),
            'posterior': self.transition.posterior_net.hoist(a), 'x': x}

  def particle_initial_state(self, batch_size, num_particles):
    return tf.zeros([batch_size, num_particles, self.z_dim])

  def particle_step(self, z_prev, inputs, noise):
    """`z_t ~ q` for every particle `[B, P, Z]`, and the weights
    `log p(v_t | z_t, o_t) + log p(z_t | z_{t-1}, d_t) - log q(z_t | z_{t-1}, a_t)` `[B, P]`."""
    z, prior, posterior = self.transition.propose(inputs['prior'][:, None],
                                                  inputs['posterior'][:, None], z_prev, noise)
    batch, particles = tf.shape(z)[0], tf.shape(z)[1]
    o = self.with_z(inputs['o'][:, None], z)                              # [B, P, K, H]
    rows = lambda v: tf.reshape(v, tf.concat([[batch * particles, 1], tf.shape(v)[2:]], 0))
    x = tf.broadcast_to(inputs['x'][:, None], [batch, particles, self.num_keys])
    log_px = tf.reshape(bernoulli_log_prob(self.key_logits(rows(o), rows(x)), rows(x)),
                        [batch, particles])
    log_prior = layers.diag_gaussian(*prior).log_prob(z)
    log_q = layers.diag_gaussian(*posterior).log_prob(z)
    return z, log_px + log_prior - log_q


@keras.saving.register_keras_serializable(package='srnn_tf')
class SRNNBALSTM(TiedChain, BALSTM):
  """The bi-axial LSTM with the SRNN's frame-level z chain (`TiedChain`)."""


@keras.saving.register_keras_serializable(package='srnn_tf')
class SRNNTPLSTMNADE(TiedChain, TPLSTMNADE):
  """The TP-LSTM-NADE with the SRNN's frame-level z chain (`TiedChain`)."""
