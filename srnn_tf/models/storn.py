"""STORN, the stochastic recurrent network of Bayer & Osendorfer (2014) [1]: a deterministic
RNN whose input at each step is the previous frame and a latent drawn independently per step.

Generative model (`u_t = x_{t-1}`; `e` the embedding MLP, as the SRNN's):

    z_t ~ N(0, I)                                                   independent over t
    d_t = GRU_d(d_{t-1}, [e(u_t), z_t])                             d_0 = 0
    p(x_t | d_t) = frame(MLP_x(d_t))

Inference network, a second (forward) RNN over the frames up to the current one:

    a_t = GRU_a(a_{t-1}, e(x_t))                                    a_0 = 0
    q(z_t | x_{1:t}) = N(mu_q, sigma_q^2),  [mu_q, log sigma_q^2] = MLP_q(a_t)

q does not depend on the sampled z, so the whole chain is drawn at once and GRU_d runs over
it as over any input: a training step costs about an RNN's plus the inference GRU. The KL
to the standard-normal prior is in closed form.

[1] J. Bayer, C. Osendorfer. Learning Stochastic Recurrent Networks. arXiv:1411.7610, 2014.
"""

from typing import NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import layers
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.models.base import FrameEmission, LatentModel, shift


class Posterior(NamedTuple):
  """One sample of `z_{1:T} ~ q(z | x)`: the sample `z` `[B, T, Z]`, `q` (batch shape
  `[B, T]`, event `[Z]`), and the states `d` and `a` `[B, T, *]` of the two GRUs."""
  z: tf.Tensor
  q: tfp.distributions.Distribution
  d: tf.Tensor
  a: tf.Tensor


@keras.saving.register_keras_serializable(package='srnn_tf')
class STORN(FrameEmission, LatentModel):
  """STORN (Bayer & Osendorfer 2014) with GRU recurrences.

  Args:
    z_dim: size of z_t.
    d_dim: size of the generative GRU's state d_t.
    a_dim: size of the inference GRU's state a_t.
    hidden_units: hidden units of the emission's and the posterior's MLPs.
    embed_units: layer sizes of the embedding MLP e(.) of the frames (shared by u_t and x_t).
    **kwargs: the emission's options (`FrameEmission`) and training options
      (`SequenceModel`).
  """

  def __init__(self, z_dim=100, d_dim=300, a_dim=300, hidden_units=500,
               embed_units=(500, 500), **kwargs):
    super().__init__(**kwargs)
    self.z_dim, self.d_dim, self.a_dim = z_dim, d_dim, a_dim
    self.hidden_units = hidden_units
    self.embed_units = tuple(embed_units)
    self.embed = layers.MLP(self.embed_units, name='embed')
    self.gru_d = layers.ProjectedGRU(d_dim, init=self.gru_init, name='gru_d')
    self.gru_a = layers.ProjectedGRU(a_dim, init=self.gru_init, name='gru_a')
    self.posterior_net = layers.MLP((hidden_units,), 2 * z_dim, name='posterior')
    self.emission = layers.MLP((hidden_units,), self.frame.num_params, name='emission')

  def state_sizes(self):
    return (self.d_dim, self.a_dim)

  def build(self, input_shape=None):
    if not self.built:
      e = self.embed_units[-1]
      self.embed.build((None, NUM_KEYS))
      self.gru_d.build((None, e + self.z_dim))
      self.gru_a.build((None, e))
      self.posterior_net.build((None, self.a_dim))
      self.emission.build((None, self.d_dim))
    super().build(input_shape)

  def posterior(self, a):
    """`q(z_t | x_{1:t})` `(mean, log_var)`, each `[..., Z]`, from `a_t` `[..., A]`."""
    return tf.split(self.posterior_net(a), 2, axis=-1)

  def decoder(self, d):
    """`p(x_t | d_t)` (`self.frame`), batch shape `[B, T]`, event `[88]`."""
    return self.frame.distribution(self.emission(d))

  def sample_posterior(self, features, initial_state=None, noise=None, training=False):
    """One reparameterised sample of `z_{1:T} ~ q`, and the GRUs' states: a `Posterior`."""
    del training
    x, mask = features['x'], features['mask']
    initial_d, initial_a = initial_state if initial_state is not None else (None, None)
    e_x = self.embed(x)
    # e(u_t): u_t = x_{t-1} on real frames, so only u_1 needs its own pass (as the SRNN's;
    # on padding u_t is 0 where this reads the last real frame, but GRU_d holds its state there
    # and those steps weigh nothing).
    e_u = tf.concat([self.embed(features['u'][:, :1]), e_x[:, :-1]], axis=1)
    a = self.gru_a(e_x, frame_mask=mask, initial_state=initial_a)
    mean, log_var = self.posterior(a)
    if noise is None:
      noise = keras.random.normal(tf.shape(mean), seed=self.seed_generator)
    z = mean + layers.scale_from_log_var(log_var) * noise
    d = self.gru_d([e_u, z], frame_mask=mask, initial_state=initial_d)
    return Posterior(z, layers.diag_gaussian(mean, log_var), d, a)

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Per-frame ELBO terms with one posterior sample.

    Args:
      features: {'x', 'u': `[B, T, 88]`, 'mask': `[B, T]`}.
      initial_state: optional `(d_0, a_0)` (carried training).
      noise: optional standard normal `[B, T, Z]` (default: drawn).

    Returns:
      {'log_px': `[B, T]`, 'kl': `[B, T]`, 'z': `[B, T, Z]`, 'final_state': `(d_T, a_T)`}.
    """
    post = self.sample_posterior(features, initial_state, noise, training)
    log_px = self.decoder(post.d).log_prob(features['x'])
    kl = post.q.kl_divergence(self._prior_like(post.z))
    return {'log_px': log_px, 'kl': kl, 'z': post.z,
            'final_state': (post.d[:, -1], post.a[:, -1])}

  @staticmethod
  def _prior_like(z):
    """The standard-normal prior with the batch shape of `z` `[..., Z]`."""
    return tfp.distributions.MultivariateNormalDiag(loc=tf.zeros_like(z))

  # -- generation and reconstruction -----------------------------------------------------------

  def generation_state(self, prime, batch_size, seed):
    """`(d, z, x)` after reading `prime` with z from q (zeros and silence without a primer)."""
    if prime is None:
      return (tf.zeros([batch_size, self.d_dim]), tf.zeros([batch_size, self.z_dim]),
              tf.zeros([batch_size, NUM_KEYS]))
    post = self.primed_posterior(prime, seed)
    return post.d[:, -1], post.z[:, -1], prime['x'][:, -1]

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    """`z_t ~ N(0, I)`, `d_t = GRU_d(d_{t-1}, [e(x_{t-1}), z_t])`, `x_t ~ p(x_t | d_t)`."""
    d_prev, _, x_prev = state
    d = self.gru_d.step(self.gru_d.project([self.embed(x_prev), noise_z]), d_prev)
    x = self.frame.sample(self.emission(d), uniform, temperature)
    return (d, noise_z, x), x

  def generation_latent(self, state):
    return state[1]

  def joint_log_prob(self, x, z):
    """`log N(z_t; 0, I) + log p(x_t | d_t)` `[B, T]`, `d` the GRU over `[e(x_{t-1}), z_t]`."""
    d = self.gru_d([self.embed(shift(x)), z])
    return self._prior_like(z).log_prob(z) + self.decoder(d).log_prob(x)

  def reconstruct(self, inputs, noise=None):
    """Each key's probability `[B, T, 88]` given the previous frames and z from q (None
    noise: the posterior means; with a NADE emission, given the frame's true lower keys)."""
    features = self._features(inputs)
    if noise is None:
      noise = tf.zeros(tf.concat([tf.shape(features['x'])[:2], [self.z_dim]], 0))
    post = self.sample_posterior(features, noise=noise)
    return self.frame.key_probabilities(self.emission(post.d), features['x'])

  # -- particles: for IWAE and SMC (bounds.py) -------------------------------------------------

  def particle_inputs(self, features):
    """q's parameters (they depend on x only), GRU_d's projected `e(u_t)` and `x`, each
    `[B, T, ...]`."""
    x = features['x']
    e_x = self.embed(x)
    e_u = tf.concat([self.embed(features['u'][:, :1]), e_x[:, :-1]], axis=1)
    mean, log_var = self.posterior(self.gru_a(e_x, frame_mask=features['mask']))
    e = self.embed_units[-1]
    projected_u = layers.linear(e_u, self.gru_d.kernel.value[:e], self.gru_d.bias[0])
    return {'mean': mean, 'log_var': log_var, 'u': projected_u, 'x': x}

  def particle_initial_state(self, batch_size, num_particles):
    """`d_0 = 0` for every particle: `[B, K, D]`."""
    return tf.zeros([batch_size, num_particles, self.d_dim])

  def particle_step(self, d_prev, inputs, noise):
    """`z_t ~ q(z_t | x_{1:t})` per particle, `d_t`, and the weight
    `log p(x_t | d_t) + log N(z_t; 0, I) - log q(z_t | x_{1:t})` `[B, K]`."""
    e = self.embed_units[-1]
    mean, log_var = inputs['mean'][:, None], inputs['log_var'][:, None]
    z = mean + layers.scale_from_log_var(log_var) * noise
    projected = inputs['u'][:, None] + layers.linear(z, self.gru_d.kernel.value[e:])
    d = self.gru_d.step(projected, d_prev)
    frame = self.frame.distribution(self.emission(d))
    return d, (frame.log_prob(inputs['x'][:, None]) + self._prior_like(z).log_prob(z)
               - layers.diag_gaussian(mean, log_var).log_prob(z))
