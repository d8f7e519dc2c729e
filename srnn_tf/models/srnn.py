"""The SRNN of Fraccaro et al. (2016) [1]: a state-space model stacked on a GRU.

Generative model (`u_t = x_{t-1}`, `u_1 = 0`; `e` an embedding MLP 88 -> 500 -> 500):

    d_t = GRU_d(d_{t-1}, e(u_t))                                   d_0 = 0
    p(z_t | z_{t-1}, d_t) = N(mu_p, sigma_p^2),  [mu_p, log sigma_p^2] = MLP_p([d_t, z_{t-1}])
    p(x_t | z_t, d_t)     = Bernoulli(logits = MLP_x([d_t, z_t]))

Inference network ("smoothing"; "filtering" replaces the backward GRU by an MLP):

    a_t = GRU_a<-(a_{t+1}, [d_t, e(x_t)])                          a_{T+1} = 0
    q(z_t | z_{t-1}, a_t) = N(mu_q, sigma_q^2),  [delta, log sigma_q^2] = MLP_q([a_t, z_{t-1}])
    mu_q = mu_p + delta                                            ("Resq"; else mu_q = delta)

With `emission='nade'` the frame's keys are not independent: `p(x_t | z_t, d_t)` is a NADE whose
biases are `MLP_x([d_t, z_t])` (as in RNN-NADE; `layers.FrameDistribution`).

ELBO = sum_t E_q[log p(x_t | z_t, d_t)] - E_q[KL(q(z_t | .) || p(z_t | .))], one
reparameterised sample of the z chain, the KL in closed form (TFP).

Paper settings: d, z, a = 300, 100, 300; MLPs of one hidden layer of 500 units; the test
ELBO per time step the paper reports on the srnn2016 data is -4.74 (JSB), -2.94
(Nottingham), -6.28 (MuseData), -8.20 (Piano-midi.de).

[1] M. Fraccaro, S. K. Sønderby, U. Paquet, O. Winther. Sequential Neural Models with
    Stochastic Layers. NIPS 2016. arXiv:1605.07571.
"""

from typing import NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import layers
from srnn_tf.models.base import FrameEmission, LatentModel, shift
from srnn_tf.keyboard import NUM_KEYS

INFERENCE = ('smoothing', 'filtering')


class Posterior(NamedTuple):
  """One sample of `z_{1:T} ~ q(z | x)` and what came with it.

  Attributes:
    d: GRU_d's states `[B, T, D]`.
    d_out: the `d` that the prior, emission and inference network read (`d` itself unless
      training with `dropout_d`).
    z, z_prev: the sample and the sample shifted (`z_0` first), `[B, T, Z]`.
    q: the posterior, a TFP distribution with batch shape `[B, T]`, event `[Z]`.
    prior_mean: `mu_p(z_{t-1}, d_t)` `[B, T, Z]` when the chain computed it (Resq), else None.
  """
  d: tf.Tensor
  d_out: tf.Tensor
  z: tf.Tensor
  z_prev: tf.Tensor
  q: tfp.distributions.Distribution
  prior_mean: tf.Tensor | None


@keras.saving.register_keras_serializable(package='srnn_tf')
class SRNN(FrameEmission, LatentModel):
  """Stochastic recurrent neural network (Fraccaro et al. 2016).

  Args:
    z_dim, d_dim, a_dim: sizes of the stochastic state z, the deterministic state d and the
      inference state a.
    hidden_units: units of the hidden layer of every MLP (prior, posterior, emission).
    embed_units: layer sizes of the embedding MLP e(.) of u_t and x_t (shared weights).
    inference: 'smoothing' (backward GRU over [d_t, e(x_t)]) or 'filtering' (an MLP).
    resq: posterior mean as a residual on the prior mean.
    dropout_d, dropout_z, dropout_emb_u, dropout_emb_x: dropout rates in training (the
      release's `p_d_drop`, `p_z_drop`, `p_emb_u_drop`, `p_emb_x_drop`; 0 by default), on the
      non-recurrent uses only: `d_t` where the prior, the emission and the inference network
      read it, `z_t` where the emission reads it, and the embeddings of `u_t` (into GRU_d)
      and `x_t` (into the inference network). The recurrences and the carried state see the
      undropped `d` and `z`.
    **kwargs: the emission's options (`FrameEmission`) and training options of
      `SequenceModel` (annealing, clipping, statefulness, seed).
  """

  def __init__(self, z_dim=100, d_dim=300, a_dim=300, hidden_units=500,
               embed_units=(500, 500), inference='smoothing', resq=True, dropout_d=0.0,
               dropout_z=0.0, dropout_emb_u=0.0, dropout_emb_x=0.0, **kwargs):
    super().__init__(**kwargs)
    if inference not in INFERENCE:
      raise ValueError(f'inference must be one of {INFERENCE}, got {inference!r}')
    self.z_dim, self.d_dim, self.a_dim = z_dim, d_dim, a_dim
    self.hidden_units = hidden_units
    self.embed_units = tuple(embed_units)
    self.inference = inference
    self.resq = resq
    self._set_dropout(d=dropout_d, z=dropout_z, emb_u=dropout_emb_u, emb_x=dropout_emb_x)
    self.embed = layers.MLP(self.embed_units, name='embed')
    self.gru_d = layers.ProjectedGRU(d_dim, init=self.gru_init, name='gru_d')
    if inference == 'smoothing':
      self.gru_a = layers.ProjectedGRU(a_dim, init=self.gru_init, name='gru_a')
    else:
      self.mlp_a = layers.MLP((a_dim,), name='mlp_a')
    self.transition = layers.StochasticTransition(z_dim, hidden_units, resq, name='transition')
    self.emission = layers.MLP((hidden_units,), self.frame.num_params, name='emission')

  def state_sizes(self):
    return (self.d_dim, self.z_dim)

  # -- the parts, for all time steps at once ---------------------------------------------------

  def embeddings(self, features, training=False):
    """`(e(u), e(x))`, each `[B, T, E]` (dropped out in training), from one pass of the
    embedding MLP over `x`.

    `u_t = x_{t-1}` on real frames and 0 on padding (`features.py`), so `e(u)` is `e(x)`
    shifted by one step: besides `x` only `u_1` (zero, carried or the release's first frame)
    and the zero frame are embedded. Embedding `u` on its own would spend about a tenth of a
    paper-size training step's FLOPs a second time.
    """
    x, u, mask = features['x'], features['u'], features['mask']
    e_x = self.embed(x)
    ends = self.embed(tf.stack([u[:, 0], tf.zeros_like(u[:, 0])], axis=1))   # [B, 2, E]
    e_first, e_zero = ends[:, :1], ends[:, 1:]
    real = mask[:, 1:, None]
    e_u = tf.concat([e_first, e_zero + real * (e_x[:, :-1] - e_zero)], axis=1)
    return self._drop(e_u, 'emb_u', training), self._drop(e_x, 'emb_x', training)

  def deterministic_states(self, u, initial_d=None, training=False):
    """`d_{1:T}` `[B, T, D]` from inputs `u` `[B, T, 88]`."""
    return self.gru_d(self._drop(self.embed(u), 'emb_u', training), initial_state=initial_d)

  def inference_states(self, d, x, mask, training=False):
    """`a_{1:T}` `[B, T, A]` from `d` and the frames `x` (backwards in time if smoothing)."""
    return self._inference_network(d, self._drop(self.embed(x), 'emb_x', training), mask)

  def _inference_network(self, d, e_x, mask):
    if self.inference == 'smoothing':   # the parts apart: e(x)'s runs beside GRU_d's loop
      return self.gru_a([d, e_x], frame_mask=mask, reverse=True)
    return self.mlp_a(tf.concat([d, e_x], axis=-1))

  def prior(self, d, z_prev):
    """`p(z_t | z_{t-1}, d_t)` as a TFP distribution, batch shape `[B, T]`, event `[Z]`."""
    return layers.diag_gaussian(*self.transition.prior(d, z_prev))

  def decoder(self, d, z):
    """`p(x_t | z_t, d_t)` (`self.frame`), batch shape `[B, T]`, event `[88]`."""
    return self.frame.distribution(self.emission(tf.concat([d, z], axis=-1)))

  def sample_posterior(self, features, initial_state=None, noise=None, training=False):
    """One reparameterised sample of `z_{1:T} ~ q(z | x)`: a `Posterior`."""
    x = features['x']
    initial_d, z_0 = initial_state if initial_state is not None else (None, None)
    e_u, e_x = self.embeddings(features, training)
    d = self.gru_d(e_u, initial_state=initial_d)
    d_out = self._drop(d, 'd', training)
    a = self._inference_network(d_out, e_x, features['mask'])
    if noise is None:
      noise = keras.random.normal(tf.concat([tf.shape(x)[:2], [self.z_dim]], 0),
                                  seed=self.seed_generator)
    return Posterior(d, d_out, *self.transition.sample(d_out, a, noise, z_0))

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Per-frame ELBO terms with one posterior sample.

    Args:
      features: {'x', 'u': `[B, T, 88]`, 'mask': `[B, T]`}.
      initial_state: optional `(d_0, z_0)`, `[B, D]` and `[B, Z]` (carried training).
      noise: optional standard normal `[B, T, Z]` for the z chain (default: drawn).

    Returns:
      {'log_px': `[B, T]`, 'kl': `[B, T]`, 'z': `[B, T, Z]`, 'final_state': `(d_T, z_T)`}.
    """
    post = self.sample_posterior(features, initial_state, noise, training)
    log_px = self.decoder(post.d_out, self._drop(post.z, 'z', training)).log_prob(features['x'])
    prior = self.transition.prior(post.d_out, post.z_prev, mean=post.prior_mean)
    kl = post.q.kl_divergence(layers.diag_gaussian(*prior))
    return {'log_px': log_px, 'kl': kl, 'z': post.z,
            'final_state': (post.d[:, -1], post.z[:, -1])}

  # -- generation and reconstruction -----------------------------------------------------------

  def generation_state(self, prime, batch_size, seed):
    """`(d, z, x)` after reading `prime` through q (zeros and silence without a primer)."""
    if prime is None:
      return (tf.zeros([batch_size, self.d_dim]), tf.zeros([batch_size, self.z_dim]),
              tf.zeros([batch_size, NUM_KEYS]))
    post = self.primed_posterior(prime, seed)
    return post.d[:, -1], post.z[:, -1], prime['x'][:, -1]

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    """One step of the generative model: `d_t`, then `z_t ~ p(z_t | z_{t-1}, d_t)`, then
    `x_t ~ p(x_t | z_t, d_t)` (with the given standard normal and uniform noise)."""
    d_prev, z_prev, x_prev = state
    d = self.gru_d.step(self.gru_d.project(self.embed(x_prev)), d_prev)
    mean, log_var = self.transition.prior(d, z_prev)
    z = mean + layers.scale_from_log_var(log_var) * noise_z
    x = self.frame.sample(self.emission(tf.concat([d, z], -1)), uniform, temperature)
    return (d, z, x), x

  def generation_latent(self, state):
    return state[1]

  def joint_log_prob(self, x, z):
    """`log p(z_t | z_{t-1}, d_t) + log p(x_t | z_t, d_t)` `[B, T]`: given x and z, `d` is the
    GRU over the shifted frames, then the prior and the emission in parallel over time."""
    d = self.deterministic_states(shift(x))
    return self.prior(d, shift(z)).log_prob(z) + self.decoder(d, z).log_prob(x)

  def reconstruct(self, inputs, noise=None):
    """Encodes a piece with q and decodes `p(x_t | z_t, d_t)` (report figure 1c).

    Args:
      inputs: piano rolls `[B, T, 88]` or a feature dict.
      noise: standard normal `[B, T, Z]` for the z chain; None uses zeros, i.e. the chain of
        posterior means (deterministic).

    Returns:
      Each key's probability `[B, T, 88]` (with a NADE emission, given the frame's true lower
      keys too: `FrameDistribution.key_probabilities`).
    """
    features = self._features(inputs)
    if noise is None:
      noise = tf.zeros(tf.concat([tf.shape(features['x'])[:2], [self.z_dim]], 0))
    post = self.sample_posterior(features, noise=noise)
    params = self.emission(tf.concat([post.d, post.z], axis=-1))
    return self.frame.key_probabilities(params, features['x'])

  # -- particles: the z chain one step at a time, for IWAE and SMC (bounds.py) -----------------

  def particle_inputs(self, features):
    """What every particle's step needs, computed once per sequence: dict of `[B, T, ...]`.

    `d` and `a` depend on x only, so all particles share them: the hoisted (d- or a-only)
    parts of the prior, posterior and emission MLPs' first layers, and the frames x.
    """
    e_u, e_x = self.embeddings(features)
    d = self.gru_d(e_u)
    a = self._inference_network(d, e_x, features['mask'])
    hidden = self.emission.hidden[0]
    return {'prior': self.transition.prior_net.hoist(d),
            'posterior': self.transition.posterior_net.hoist(a),
            'emission': layers.linear(d, hidden.kernel.value[:self.d_dim], hidden.bias.value),
            'x': features['x']}

  def particle_initial_state(self, batch_size, num_particles):
    """`z_0 = 0` for every particle: `[B, K, Z]`."""
    return tf.zeros([batch_size, num_particles, self.z_dim])

  def particle_step(self, z_prev, inputs, noise):
    """Proposes `z_t ~ q(z_t | z_{t-1}, a_t)` for every particle and weighs it.

    Args:
      z_prev: `[B, K, Z]`.
      inputs: one time step of `particle_inputs`, each `[B, ...]`.
      noise: standard normal `[B, K, Z]`.

    Returns:
      `(z_t, log_alpha)`: `[B, K, Z]` and the incremental log-weights `[B, K]`,
      `log p(x_t | z_t, d_t) + log p(z_t | z_{t-1}, d_t) - log q(z_t | z_{t-1}, a_t)`.
    """
    z, prior, posterior = self.transition.propose(inputs['prior'][:, None],
                                                  inputs['posterior'][:, None], z_prev, noise)
    hidden = self.emission.hidden[0]
    frame = self.frame.distribution(self.emission.out(layers.clipped_leaky_relu(
        inputs['emission'][:, None] + layers.linear(z, hidden.kernel.value[self.d_dim:]))))
    return z, layers.importance_log_weight(inputs['x'], frame, z, prior, posterior)
