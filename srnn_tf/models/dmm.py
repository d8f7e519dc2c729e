"""The Deep Markov Model of Krishnan, Shalit & Sontag (2017) [1]: a nonlinear state-space
model, with no deterministic recurrence in the generative model.

Generative model (`z_0 = 0`; the previous frame `u_t = x_{t-1}` is read only by DMM-Aug.):

    c_t = z_{t-1}                    (DMM-Aug.: c_t = [z_{t-1}, u_t])
    g_t = sigmoid(MLP_g(c_t))        the gate
    h_t = MLP_h(c_t)                 the proposed mean
    p(z_t | c_t) = N(mu_p, sigma_p^2),  mu_p = (1 - g_t) * (W_mu z_{t-1} + b_mu) + g_t * h_t,
                                         sigma_p = softplus(W_sigma relu(h_t) + b_sigma)
    p(x_t | z_t) = frame(MLP_x(z_t))  (DMM-Aug.: MLP_x([z_t, u_t]))

`W_mu` starts as the identity, so that a new chain starts as a random walk (their section
"Gated Transition Function"). MLP_g and MLP_h have one ReLU hidden layer of `hidden_units`.
With `emission='nade'` the frame is a NADE whose biases MLP_x gives: DMM-Aug.-NADE.

Inference network, their structured "ST-R" (the DKS of the paper: the future frames through
a backward RNN, the past through `z_{t-1}`):

    a_t = GRU_a<-(a_{t+1}, x_t)                                     a_{T+1} = 0
    h^c_t = (tanh(W_c z_{t-1} + b_c) + a_t) / 2                     the combiner
    q(z_t | z_{t-1}, x_{t:T}) = N(W_m h^c_t + b_m, softplus(W_s h^c_t + b_s)^2)

ELBO = sum_t E_q[log p(x_t | .)] - E_q[KL(q(z_t | .) || p(z_t | .))], one reparameterised
sample of the chain, the KL in closed form, as for the SRNN.

What differs from their setup (their code, github.com/clinicalml/structuredinference, as
run for the paper's polyphonic experiments), and why:

* the backward RNN is a GRU straight over `x_t` (theirs an LSTM of 600 over a ReLU embedding
  of `x_t` into 600 units, its output under dropout 0.1): the package's GRU has the tested fast
  path and gives every latent model the same inference recurrence;
* the Gaussians' softplus gives the standard deviation (theirs the variance), the
  package's parameterisation for every latent model;
* sizes: MLP_g and MLP_h have `hidden_units` (theirs twice their emission's 200, i.e. 400), and
  the emission MLP has the package's two hidden layers of `hidden_units` with the clipped
  leaky ReLU (theirs two ReLU layers of 200);
* training: the package's protocol (Adam 1e-3, batches of 16 windows of 100 frames, gradient
  norm 1, the KL weight from 0.2 to 1 over 20 epochs, no weight penalty) where theirs is Adam
  8e-4 on batches of 20 whole pieces, gradient norm 1, the KL weight from 0.01 to 1 over 5,000
  updates, an L2 penalty of 0.05 on the generative weights, up to 2,000 epochs;
* `p(z_1)` is the transition from `z_0 = 0` (theirs N(0, I)).

[1] R. G. Krishnan, U. Shalit, D. Sontag. Structured Inference Networks for Nonlinear State
    Space Models. AAAI 2017. arXiv:1609.09869.
"""

from typing import NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import layers
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.models.base import FrameEmission, LatentModel, shift


def _log_var_from_scale(scale):
  """`log sigma^2` of a softplus scale: the package's Gaussians are parameterised so
  (`layers.diag_gaussian`)."""
  return 2.0 * tf.math.log(scale)


class GatedTransition(keras.layers.Layer):
  """`p(z_t | c_t)`: the DMM's gated transition, `(mean, log_var)` each `[..., Z]` from
  `z_{t-1}` `[..., Z]` and (DMM-Aug.) the previous frame `u_t` `[..., 88]`."""

  def __init__(self, z_dim, hidden_units, **kwargs):
    super().__init__(**kwargs)
    self.z_dim = z_dim
    self.hidden_units = hidden_units
    self.gate_hidden = layers.dense(hidden_units, 'relu', name='gate_hidden')
    self.gate = layers.dense(z_dim, 'sigmoid', name='gate')
    self.proposal_hidden = layers.dense(hidden_units, 'relu', name='proposal_hidden')
    self.proposal = layers.dense(z_dim, name='proposal')
    self.linear_mean = keras.layers.Dense(z_dim, kernel_initializer='identity',
                                          bias_initializer='zeros', name='linear_mean')
    self.scale = layers.dense(z_dim, name='scale')

  def build(self, input_shape):
    z_shape, context_shape = input_shape
    for layer in (self.gate_hidden, self.proposal_hidden):
      layer.build(context_shape)
    for layer in (self.gate, self.proposal):
      layer.build((*context_shape[:-1], self.hidden_units))
    self.linear_mean.build(z_shape)
    self.scale.build(z_shape)

  def call(self, inputs):
    z_prev, context = inputs
    gate = self.gate(self.gate_hidden(context))
    proposal = self.proposal(self.proposal_hidden(context))
    mean = (1.0 - gate) * self.linear_mean(z_prev) + gate * proposal
    scale = tf.nn.softplus(self.scale(tf.nn.relu(proposal)))
    return mean, _log_var_from_scale(scale)

  def get_config(self):
    return {**super().get_config(), 'z_dim': self.z_dim, 'hidden_units': self.hidden_units}


class Combiner(keras.layers.Layer):
  """`q(z_t | z_{t-1}, a_t)`: `(mean, log_var)` each `[..., Z]` from `z_{t-1}` `[..., Z]` and
  the backward RNN's state `a_t` `[..., A]`."""

  def __init__(self, z_dim, a_dim, **kwargs):
    super().__init__(**kwargs)
    self.z_dim, self.a_dim = z_dim, a_dim
    self.from_z = layers.dense(a_dim, 'tanh', name='from_z')
    self.mean = layers.dense(z_dim, name='mean')
    self.scale = layers.dense(z_dim, name='scale')

  def build(self, input_shape):
    z_shape, a_shape = input_shape
    self.from_z.build(z_shape)
    self.mean.build(a_shape)
    self.scale.build(a_shape)

  def call(self, inputs):
    z_prev, a = inputs
    combined = 0.5 * (self.from_z(z_prev) + a)
    return self.mean(combined), _log_var_from_scale(tf.nn.softplus(self.scale(combined)))

  def get_config(self):
    return {**super().get_config(), 'z_dim': self.z_dim, 'a_dim': self.a_dim}


class Posterior(NamedTuple):
  """One sample of `z_{1:T} ~ q(z | x)`: the sample `z` and the sample shifted (`z_0`
  first) `z_prev`, `[B, T, Z]`, and `q` (batch shape `[B, T]`, event `[Z]`)."""
  z: tf.Tensor
  z_prev: tf.Tensor
  q: tfp.distributions.Distribution


@keras.saving.register_keras_serializable(package='srnn_tf')
class DMM(FrameEmission, LatentModel):
  """Deep Markov Model (Krishnan et al. 2017), with the structured inference network.

  Args:
    z_dim: size of the state z_t (theirs: 100).
    a_dim: size of the backward inference GRU's state a_t (theirs: 600).
    hidden_units: hidden units of the transition's MLPs and of each of the emission's two
      hidden layers (theirs: 200 and 100).
    dmm_augmented: DMM-Aug.: the previous frame feeds the transition and the emission.
    **kwargs: the emission's options (`FrameEmission`) and training options
      (`SequenceModel`).
  """

  def __init__(self, z_dim=100, a_dim=600, hidden_units=200, dmm_augmented=False, **kwargs):
    super().__init__(**kwargs)
    self.z_dim, self.a_dim = z_dim, a_dim
    self.hidden_units = hidden_units
    self.dmm_augmented = dmm_augmented
    self.transition = GatedTransition(z_dim, hidden_units, name='transition')
    self.combiner = Combiner(z_dim, a_dim, name='combiner')
    self.gru_a = layers.ProjectedGRU(a_dim, init=self.gru_init, name='gru_a')
    self.emission = layers.MLP((hidden_units, hidden_units), self.frame.num_params,
                               name='emission')

  @property
  def reads_inputs(self):
    return self.dmm_augmented

  def state_sizes(self):
    return (self.z_dim,)

  def build(self, input_shape=None):
    if not self.built:
      z_shape = (None, self.z_dim)
      context = self.z_dim + (NUM_KEYS if self.dmm_augmented else 0)
      self.transition.build((z_shape, (None, context)))
      self.combiner.build((z_shape, (None, self.a_dim)))
      self.gru_a.build((None, NUM_KEYS))
      self.emission.build((None, context))
    super().build(input_shape)

  def _with_input(self, z, u):
    """`[z, u]` for DMM-Aug. (u broadcast over the particles' axis if z has one), else z."""
    if not self.dmm_augmented:
      return z
    u = tf.broadcast_to(u, tf.concat([tf.shape(z)[:-1], [NUM_KEYS]], 0))
    return tf.concat([z, u], axis=-1)

  def prior(self, z_prev, u):
    """`p(z_t | z_{t-1}[, u_t])` `(mean, log_var)` for all steps at once, `[B, T, Z]`."""
    return self.transition((z_prev, self._with_input(z_prev, u)))

  def decoder(self, z, u):
    """`p(x_t | z_t[, u_t])` (`self.frame`), batch shape `[B, T]`, event `[88]`."""
    return self.frame.distribution(self.emission(self._with_input(z, u)))

  def inference_states(self, x, mask):
    """`a_{1:T}` `[B, T, A]`: the backward GRU over the frames."""
    return self.gru_a(x, frame_mask=mask, reverse=True)

  def sample_posterior(self, features, initial_state=None, noise=None, training=False):
    """One reparameterised sample of `z_{1:T} ~ q(z | x)`: a `Posterior`.

    The combiner's chain is a `tf.scan` over time with autodiff: its step is three small
    products (the SRNN's hand-written chain is for its larger MLPs).
    """
    del training
    x = features['x']
    a = self.inference_states(x, features['mask'])
    if noise is None:
      noise = keras.random.normal(tf.concat([tf.shape(x)[:2], [self.z_dim]], 0),
                                  seed=self.seed_generator)
    z_0 = initial_state[0] if initial_state is not None else tf.zeros_like(noise[:, 0])

    def step(carry, elems):
      z_prev = carry[0]
      a_t, noise_t = elems
      mean, log_var = self.combiner((z_prev, a_t))
      return mean + layers.scale_from_log_var(log_var) * noise_t, mean, log_var

    time_major = lambda v: tf.transpose(v, [1, 0, 2])
    z, mean, log_var = (time_major(v) for v in tf.scan(
        step, (time_major(a), time_major(noise)), initializer=(z_0, z_0, z_0)))
    z_prev = tf.concat([z_0[:, None], z[:, :-1]], axis=1)
    return Posterior(z, z_prev, layers.diag_gaussian(mean, log_var))

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Per-frame ELBO terms with one posterior sample.

    Args:
      features: {'x', 'u': `[B, T, 88]`, 'mask': `[B, T]`}.
      initial_state: optional `(z_0,)`, `[B, Z]` (carried training).
      noise: optional standard normal `[B, T, Z]` for the chain (default: drawn).

    Returns:
      {'log_px': `[B, T]`, 'kl': `[B, T]`, 'z': `[B, T, Z]`, 'final_state': `(z_T,)`}.
    """
    post = self.sample_posterior(features, initial_state, noise, training)
    u = features['u']
    log_px = self.decoder(post.z, u).log_prob(features['x'])
    kl = post.q.kl_divergence(layers.diag_gaussian(*self.prior(post.z_prev, u)))
    return {'log_px': log_px, 'kl': kl, 'z': post.z, 'final_state': (post.z[:, -1],)}

  # -- generation and reconstruction -----------------------------------------------------------

  def generation_state(self, prime, batch_size, seed):
    """`(z, x)` after reading `prime` through q (zeros and silence without a primer)."""
    if prime is None:
      return tf.zeros([batch_size, self.z_dim]), tf.zeros([batch_size, NUM_KEYS])
    return self.primed_posterior(prime, seed).z[:, -1], prime['x'][:, -1]

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    """`z_t ~ p(z_t | z_{t-1}[, x_{t-1}])`, then `x_t ~ p(x_t | z_t[, x_{t-1}])`."""
    z_prev, x_prev = state
    mean, log_var = self.transition((z_prev, self._with_input(z_prev, x_prev)))
    z = mean + layers.scale_from_log_var(log_var) * noise_z
    x = self.frame.sample(self.emission(self._with_input(z, x_prev)), uniform, temperature)
    return (z, x), x

  def generation_latent(self, state):
    return state[0]

  def joint_log_prob(self, x, z):
    """`log p(z_t | z_{t-1}[, x_{t-1}]) + log p(x_t | z_t[, x_{t-1}])` `[B, T]`, in parallel."""
    u = shift(x)
    return (layers.diag_gaussian(*self.prior(shift(z), u)).log_prob(z)
            + self.decoder(z, u).log_prob(x))

  def reconstruct(self, inputs, noise=None):
    """Encodes a piece with q and decodes `p(x_t | z_t[, u_t])`: each key's probability
    `[B, T, 88]` (with a NADE emission, given the frame's true lower keys too). `noise`:
    standard normal `[B, T, Z]`; None uses the chain of posterior means."""
    features = self._features(inputs)
    if noise is None:
      noise = tf.zeros(tf.concat([tf.shape(features['x'])[:2], [self.z_dim]], 0))
    post = self.sample_posterior(features, noise=noise)
    params = self.emission(self._with_input(post.z, features['u']))
    return self.frame.key_probabilities(params, features['x'])

  # -- particles: the chain one step at a time, for IWAE and SMC (bounds.py) -------------------

  def particle_inputs(self, features):
    """`a` (the backward GRU's states), `u` and `x`, each `[B, T, ...]`: shared by the
    particles."""
    return {'a': self.inference_states(features['x'], features['mask']),
            'u': features['u'], 'x': features['x']}

  def particle_initial_state(self, batch_size, num_particles):
    """`z_0 = 0` for every particle: `[B, K, Z]`."""
    return tf.zeros([batch_size, num_particles, self.z_dim])

  def particle_step(self, z_prev, inputs, noise):
    """Proposes `z_t ~ q(z_t | z_{t-1}, a_t)` for every particle `[B, K, Z]` and weighs it:
    `log p(x_t | z_t, .) + log p(z_t | z_{t-1}, .) - log q(z_t | z_{t-1}, a_t)` `[B, K]`."""
    u = inputs['u'][:, None]
    prior = self.transition((z_prev, self._with_input(z_prev, u)))
    posterior = self.combiner((z_prev, tf.broadcast_to(
        inputs['a'][:, None], tf.concat([tf.shape(z_prev)[:2], [self.a_dim]], 0))))
    z = posterior[0] + layers.scale_from_log_var(posterior[1]) * noise
    frame = self.frame.distribution(self.emission(self._with_input(z, u)))
    return z, layers.importance_log_weight(inputs['x'], frame, z, prior, posterior)
