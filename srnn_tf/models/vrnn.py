"""The VRNN of Chung et al. (2015) [1]: a latent variable inside the recurrence.

    h_t = GRU(h_{t-1}, [phi_x(x_t), phi_z(z_t)])                 h_0 = 0
    p(z_t | h_{t-1})      = N(mu_p, sigma_p^2), [mu_p, log sigma_p^2] = MLP_p(h_{t-1})
    q(z_t | x_t, h_{t-1}) = N(mu_q, sigma_q^2), [mu_q, log sigma_q^2] = MLP_q([phi_x(x_t), h_{t-1}])
    p(x_t | z_t, h_{t-1}) = Bernoulli(logits = MLP_x([phi_z(z_t), h_{t-1}]))

It reads the frames x alone, never the input u of the feature dict: the state before x_1 is
h_0 = 0 whatever came before the piece (`reads_inputs`).

Unlike the SRNN, the sampled z_t feeds the recurrence, so the GRU runs inside the z loop;
as there, everything that depends only on x (phi_x, its share of the GRU's input projection
and of q's first layer) is computed for all steps before the loop, and the prior, emission
and KL after it.

[1] J. Chung, K. Kastner, L. Dinh, K. Goel, A. Courville, Y. Bengio. A Recurrent Latent
    Variable Model for Sequential Data. NIPS 2015. arXiv:1506.02216.
"""

import keras
import tensorflow as tf

from srnn_tf import layers
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.models.base import FrameEmission, LatentModel, shift


@keras.saving.register_keras_serializable(package='srnn_tf')
class VRNN(FrameEmission, LatentModel):
  """Variational RNN (Chung et al. 2015) with GRU recurrence.

  Args:
    z_dim: size of z_t.
    d_dim: size of the GRU state h (the frame state, the SRNN's d; Chung et al. call it h).
    hidden_units: units of the hidden layer of every MLP, and the size of phi_z(z).
    embed_units: layer sizes of phi_x.
    dropout_d, dropout_emb_u: dropout rates in training, as the RNN's and the SRNN's: on
      `h_{t-1}` where the prior, the inference network and the emission read it (one mask
      per step, shared by the three; the recurrence sees the undropped `h`), and on
      `phi_x(x_t)` into the GRU (the recurrence's input, as `e(u_t)` is theirs).
    **kwargs: the emission's options (`FrameEmission`) and training options
      (`SequenceModel`).
  """

  reads_inputs = False

  def __init__(self, z_dim=100, d_dim=300, hidden_units=500, embed_units=(500, 500),
               dropout_d=0.0, dropout_emb_u=0.0, **kwargs):
    super().__init__(**kwargs)
    self.z_dim, self.d_dim = z_dim, d_dim
    self.hidden_units = hidden_units
    self.embed_units = tuple(embed_units)
    self._set_dropout(d=dropout_d, emb_u=dropout_emb_u)
    self.phi_x = layers.MLP(self.embed_units, name='phi_x')
    self.phi_z = layers.MLP((hidden_units,), name='phi_z')
    self.gru_h = layers.ProjectedGRU(d_dim, init=self.gru_init, name='gru_h')
    self.prior_net = layers.GaussianMLP(z_dim, hidden_units, name='prior')
    self.posterior_net = layers.GaussianMLP(z_dim, hidden_units, name='posterior')
    self.emission = layers.MLP((hidden_units,), self.frame.num_params, name='emission')

  def state_sizes(self):
    return (self.d_dim,)

  def build(self, input_shape=None):
    if not self.built:
      e, h, z = self.embed_units[-1], self.d_dim, self.z_dim
      self.phi_x.build((None, NUM_KEYS))
      self.phi_z.build((None, z))
      self.gru_h.build((None, e + self.hidden_units))
      # The prior sees only h_{t-1}: a context of width 0 keeps GaussianMLP's layout.
      self.prior_net.build(((None, 0), (None, h)))
      self.posterior_net.build(((None, e), (None, h)))
      self.emission.build((None, self.hidden_units + h))
    super().build(input_shape)

  def prior(self, h_prev):
    """`p(z_t | h_{t-1})`, batch shape `[B, T]`, event `[Z]`."""
    empty = h_prev[..., :0]
    return layers.diag_gaussian(*self.prior_net((empty, h_prev)))

  def decoder(self, z, h_prev):
    """`p(x_t | z_t, h_{t-1})` (`self.frame`), batch shape `[B, T]`, event `[88]`."""
    return self.frame.distribution(self.emission(tf.concat([self.phi_z(z), h_prev], -1)))

  def sample_posterior(self, features, initial_state=None, noise=None, training=False):
    """One reparameterised sample of `z_{1:T} ~ q`, running the recurrence with it.

    Returns:
      `(h_read, z, q, h_T)`: `h_{t-1}` as the networks read it (dropped out in training)
      `[B, T, H]`, `z` `[B, T, Z]`, `q` (batch `[B, T]`), and the last state `[B, H]`.
    """
    x = features['x']
    if noise is None:
      noise = keras.random.normal(tf.concat([tf.shape(x)[:2], [self.z_dim]], 0),
                                  seed=self.seed_generator)
    e = self.embed_units[-1]
    phi_x = self.phi_x(x)
    q_hoisted = self.posterior_net.hoist(phi_x)                     # [B, T, 2 * hidden]
    gru_hoisted = layers.linear(self._drop(phi_x, 'emb_u', training),
                                self.gru_h.kernel.value[:e], self.gru_h.bias.value[0])
    # Dropout on h_{t-1}: a mask drawn before the loop, or none (the loop then has no
    # product with it).
    keep_h = None
    if training and self.dropout['d']:
      keep_h = self._drop(tf.ones(tf.concat([tf.shape(x)[:2], [self.d_dim]], 0)), 'd', True)
    q_h_kernel = self.posterior_net.z_kernel()                      # [H, 2 * hidden]
    out_k, out_b = self.posterior_net.out_kernels()
    gru_z_kernel = self.gru_h.kernel.value[e:]
    phi_z_layer = self.phi_z.hidden[0]
    phi_z_kernel, phi_z_bias = phi_z_layer.kernel.value, phi_z_layer.bias.value
    time_major = lambda v: tf.transpose(v, [1, 0, 2])

    def step(carry, elems):
      h_prev = carry[0]
      q_t, gru_t, eps_t, *keep_t = elems
      h_read = h_prev * keep_t[0] if keep_t else h_prev
      hidden = layers.clipped_leaky_relu(q_t + tf.matmul(h_read, q_h_kernel))
      heads = layers.multi_head(hidden, out_k, out_b)
      z = heads[0] + layers.scale_from_log_var(heads[1]) * eps_t
      phi_z = layers.clipped_leaky_relu(tf.matmul(z, phi_z_kernel) + phi_z_bias)
      h = self.gru_h.step(gru_t + tf.matmul(phi_z, gru_z_kernel), h_prev)
      return h, z, heads[0], heads[1]

    batch = tf.shape(x)[0]
    h_0 = initial_state[0] if initial_state is not None else tf.zeros([batch, self.d_dim])
    zeros = tf.zeros([batch, self.z_dim])
    h, z, mean, log_var = (time_major(v) for v in tf.scan(
        step, tuple(time_major(v) for v in (q_hoisted, gru_hoisted, noise, keep_h)
                    if v is not None),
        (h_0, zeros, zeros, zeros)))
    h_prev = tf.concat([h_0[:, None], h[:, :-1]], axis=1)
    h_read = h_prev if keep_h is None else h_prev * keep_h
    return h_read, z, layers.diag_gaussian(mean, log_var), h[:, -1]

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Per-frame ELBO terms with one posterior sample.

    Returns:
      {'log_px': `[B, T]`, 'kl': `[B, T]`, 'z': `[B, T, Z]`, 'final_state': `(h_T,)`}.
    """
    h_prev, z, q, h_last = self.sample_posterior(features, initial_state, noise, training)
    log_px = self.decoder(z, h_prev).log_prob(features['x'])
    kl = q.kl_divergence(self.prior(h_prev))
    return {'log_px': log_px, 'kl': kl, 'z': z, 'final_state': (h_last,)}

  # -- generation and reconstruction -----------------------------------------------------------

  def generation_state(self, prime, batch_size, seed):
    """`(h, z)` after reading `prime` through q (zeros without a primer)."""
    if prime is None:
      return tf.zeros([batch_size, self.d_dim]), tf.zeros([batch_size, self.z_dim])
    _, z, _, h_last = self.primed_posterior(prime, seed)
    return h_last, z[:, -1]

  def generation_latent(self, state):
    return state[1]

  def joint_log_prob(self, x, z):
    """`log p(z_t | h_{t-1}) + log p(x_t | z_t, h_{t-1})` `[B, T]`: given x and z, `h` is the
    GRU over `[phi_x(x_t), phi_z(z_t)]`, then the prior and the emission in parallel."""
    h_prev = shift(self.gru_h(tf.concat([self.phi_x(x), self.phi_z(z)], -1)))
    return self.prior(h_prev).log_prob(z) + self.decoder(z, h_prev).log_prob(x)

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    """`z_t ~ p(z_t | h_{t-1})`, `x_t ~ p(x_t | z_t, h_{t-1})`, then `h_t`."""
    h_prev = state[0]
    mean, log_var = self.prior_net.from_hoisted(self.prior_net.hoist(h_prev[..., :0]), h_prev)
    z = mean + layers.scale_from_log_var(log_var) * noise_z
    phi_z = self.phi_z(z)
    x = self.frame.sample(self.emission(tf.concat([phi_z, h_prev], -1)), uniform,
                          temperature)
    h = self.gru_h.step(self.gru_h.project(tf.concat([self.phi_x(x), phi_z], -1)), h_prev)
    return (h, z), x

  def reconstruct(self, inputs, noise=None):
    """Encodes with q (posterior means by default) and decodes: each key's probability
    `[B, T, 88]` (with a NADE emission, given the frame's true lower keys too)."""
    features = self._features(inputs)
    if noise is None:
      noise = tf.zeros(tf.concat([tf.shape(features['x'])[:2], [self.z_dim]], 0))
    h_prev, z, _, _ = self.sample_posterior(features, noise=noise)
    params = self.emission(tf.concat([self.phi_z(z), h_prev], -1))
    return self.frame.key_probabilities(params, features['x'])

  # -- particles: one step at a time, for IWAE and SMC (bounds.py) -----------------------------

  def particle_inputs(self, features):
    """The x-only parts of each step, shared by all particles: dict of `[B, T, ...]`."""
    e = self.embed_units[-1]
    phi_x = self.phi_x(features['x'])
    return {'posterior': self.posterior_net.hoist(phi_x),
            'gru': layers.linear(phi_x, self.gru_h.kernel.value[:e], self.gru_h.bias.value[0]),
            'x': features['x']}

  def particle_initial_state(self, batch_size, num_particles):
    """`h_0 = 0` for every particle: `[B, K, H]`."""
    return tf.zeros([batch_size, num_particles, self.d_dim])

  def particle_step(self, h_prev, inputs, noise):
    """Proposes `z_t ~ q(z_t | x_t, h_{t-1})` per particle, weighs it, advances `h`.

    Returns:
      `(h_t, log_alpha)`: `[B, K, H]` and `[B, K]` = `log p(x_t | z_t, h_{t-1})
      + log p(z_t | h_{t-1}) - log q(z_t | x_t, h_{t-1})`.
    """
    e = self.embed_units[-1]
    mean_p, log_var_p = self.prior_net.from_hoisted(
        self.prior_net.hoist(h_prev[..., :0]), h_prev)
    mean_q, log_var_q = self.posterior_net.from_hoisted(inputs['posterior'][:, None], h_prev)
    z = mean_q + layers.scale_from_log_var(log_var_q) * noise
    phi_z = self.phi_z(z)
    frame = self.frame.distribution(self.emission(tf.concat([phi_z, h_prev], -1)))
    log_alpha = layers.importance_log_weight(inputs['x'], frame, z, (mean_p, log_var_p),
                                             (mean_q, log_var_q))
    gru_in = inputs['gru'][:, None] + layers.linear(phi_z, self.gru_h.kernel.value[e:])
    return self.gru_h.step(gru_in, h_prev), log_alpha

  @classmethod
  def from_config(cls, config):
    # Models saved before the frame state had one name in every model called it h_dim.
    config = dict(config)
    if 'h_dim' in config:
      config['d_dim'] = config.pop('h_dim')
    return super().from_config(config)
