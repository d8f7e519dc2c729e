"""The deterministic baseline: a GRU over the inputs and an emission of the frame.

    d_t = GRU_d(d_{t-1}, e(u_t)),   p(x_t | d_t) = Bernoulli(logits = MLP_x(d_t))

With `emission='nade'`, `p(x_t | d_t)` is a NADE whose biases are `MLP_x(d_t)`: RNN-NADE
(Boulanger-Lewandowski et al. 2012), with a GRU for its RNN.

There are no latent variables: its log-likelihood is exact, and the `kl` term is zero, so it
goes through the same training, evaluation and reporting code as the latent models.
"""

import keras
import tensorflow as tf

from srnn_tf import layers
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.models.base import FrameEmission, SequenceModel


@keras.saving.register_keras_serializable(package='srnn_tf')
class RNN(FrameEmission, SequenceModel):
  """GRU baseline with the SRNN's embedding, GRU and emission sizes.

  Args:
    d_dim: GRU state size.
    hidden_units: hidden units of the emission MLP.
    embed_units: layer sizes of the embedding MLP e(.) of u_t.
    dropout_d, dropout_emb_u: dropout rates in training on `d_t` where the emission reads it
      and on `e(u_t)` into the GRU (as in the SRNN; the recurrence sees the undropped `d`).
    **kwargs: the emission's options (`FrameEmission`) and training options
      (`SequenceModel`).
  """

  def __init__(self, d_dim=300, hidden_units=500, embed_units=(500, 500), dropout_d=0.0,
               dropout_emb_u=0.0, **kwargs):
    super().__init__(**kwargs)
    self.d_dim = d_dim
    self.hidden_units = hidden_units
    self.embed_units = tuple(embed_units)
    self._set_dropout(d=dropout_d, emb_u=dropout_emb_u)
    self.embed = layers.MLP(self.embed_units, name='embed')
    self.gru_d = layers.ProjectedGRU(d_dim, init=self.gru_init, name='gru_d')
    self.emission = layers.MLP((hidden_units,), self.frame.num_params, name='emission')

  def state_sizes(self):
    return (self.d_dim,)

  def decoder(self, d):
    """`p(x_t | d_t)` (`self.frame`), batch shape `[B, T]`, event `[88]`."""
    return self.frame.distribution(self.emission(d))

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Exact per-frame log-likelihood: {'log_px', 'kl' (zeros): `[B, T]`, 'final_state'}."""
    del noise
    initial_d = initial_state[0] if initial_state is not None else None
    d = self.gru_d(self._drop(self.embed(features['u']), 'emb_u', training),
                   initial_state=initial_d)
    log_px = self.decoder(self._drop(d, 'd', training)).log_prob(features['x'])
    return {'log_px': log_px, 'kl': tf.zeros_like(log_px), 'final_state': (d[:, -1],)}

  def generation_state(self, prime, batch_size, seed):
    """`(d, x)` after reading `prime` (zeros and silence without a primer)."""
    del seed
    if prime is None:
      return tf.zeros([batch_size, self.d_dim]), tf.zeros([batch_size, NUM_KEYS])
    d = self.gru_d(self.embed(prime['u']))
    return d[:, -1], prime['x'][:, -1]

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    del noise_z
    d_prev, x_prev = state
    d = self.gru_d.step(self.gru_d.project(self.embed(x_prev)), d_prev)
    x = self.frame.sample(self.emission(d), uniform, temperature)
    return (d, x), x

  def reconstruct(self, inputs, noise=None):
    """Each key's probability in every frame given the previous frames, `[B, T, 88]` (with a
    NADE emission, also given the frame's true lower keys: `FrameDistribution`)."""
    del noise
    features = self._features(inputs)
    params = self.emission(self.gru_d(self.embed(features['u'])))
    return self.frame.key_probabilities(params, features['x'])
