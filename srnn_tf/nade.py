"""NADE, the neural autoregressive distribution estimator (Larochelle & Murray 2011) [1], over
the keys of a frame, `{0,1}^D`, as a TensorFlow Probability distribution.

Keys are modelled lowest first: with `a_1 = c` and `a_{d+1} = a_d + W[:, d] x_d`,

    h_d = sigmoid(a_d)                               (the hidden units, [H])
    p(x_d = 1 | x_<d) = sigmoid(b_d + V[d] . h_d)

`b` (`[D]`, the visible biases) and `c` (`[H]`, the hidden biases) are per distribution: in
RNN-NADE [2] they are functions of the recurrent state, so each frame has its own NADE, while
`W` `[H, D]` and `V` `[D, H]` are shared over time. Every `a_d` given a whole frame is an
exclusive cumulative sum over the keys, so `log_prob` needs no loop over keys (and, since
`a_d` changes only at the keys that sound, only as many hidden-unit vectors as the frame has
sounding keys, plus one); sampling draws the keys one after the other.

[1] H. Larochelle, I. Murray. The Neural Autoregressive Distribution Estimator. AISTATS 2011.
[2] N. Boulanger-Lewandowski, Y. Bengio, P. Vincent. Modeling Temporal Dependencies in
    High-Dimensional Sequences: Application to Polyphonic Music Generation and
    Transcription. ICML 2012.
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from srnn_tf import compiled

tfd = tfp.distributions


class NADE(tfd.Distribution):
  """NADE over `D` binary variables: batch shape from the biases, event shape `[D]`.

  Args:
    visible_bias: `b`, `[..., D]`.
    hidden_bias: `c`, `[..., H]` (batch shape broadcast with `visible_bias`'s).
    input_weights: `W`, `[H, D]`: key `d`'s contribution to the hidden units of later keys.
    output_weights: `V`, `[D, H]`: the hidden units' contribution to key `d`'s logit.
  """

  def __init__(self, visible_bias, hidden_bias, input_weights, output_weights,
               validate_args=False, allow_nan_stats=True, name='NADE'):
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      self._visible_bias = tf.convert_to_tensor(visible_bias, tf.float32)
      self._hidden_bias = tf.convert_to_tensor(hidden_bias, tf.float32)
      self._input_weights = tf.convert_to_tensor(input_weights, tf.float32)
      self._output_weights = tf.convert_to_tensor(output_weights, tf.float32)
      super().__init__(dtype=tf.float32,
                       reparameterization_type=tfd.NOT_REPARAMETERIZED,
                       validate_args=validate_args, allow_nan_stats=allow_nan_stats,
                       parameters=parameters, name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    del dtype, num_classes
    return dict(visible_bias=tfp.util.ParameterProperties(event_ndims=1),
                hidden_bias=tfp.util.ParameterProperties(event_ndims=1),
                # Shared by every distribution of the batch: no batch dimensions of their own.
                input_weights=tfp.util.ParameterProperties(event_ndims=2),
                output_weights=tfp.util.ParameterProperties(event_ndims=2))

  @property
  def visible_bias(self):
    return self._visible_bias

  @property
  def hidden_bias(self):
    return self._hidden_bias

  @property
  def input_weights(self):
    return self._input_weights

  @property
  def output_weights(self):
    return self._output_weights

  def _event_shape(self):
    return self._visible_bias.shape[-1:]

  def _event_shape_tensor(self):
    return tf.shape(self._visible_bias)[-1:]

  def conditional_logits(self, x):
    """`logit p(x_d = 1 | x_<d)` of every key given the frame `x` `[..., D]` of 0/1 (teacher
    forcing): `[...batch, D]`, all keys at once."""
    x = tf.convert_to_tensor(x, tf.float32)
    if self.validate_args:
      with tf.control_dependencies([tf.debugging.assert_equal(
          x * (1 - x), tf.zeros_like(x), message='NADE frames must hold 0/1')]):
        x = tf.identity(x)
    # a_d = c + sum_{k<d} x_k W[:, k] changes only at the keys that sound: with s_d, the
    # number of sounding keys below d, a_d = A_{s_d}, where A_s sums the first s sounding
    # keys' columns of W. A music frame has a handful of 88, so the hidden units are
    # computed for those S <= max_frame(sum x) + 1 prefixes, not for all D: on the paper's
    # batches this runs forward and backward 7x faster than the D prefixes as one masked
    # product (the tests check it against a key-by-key loop, values and gradients, sparse
    # and dense frames alike; a dense frame costs what the D prefixes cost).
    below = tf.cumsum(x, -1, exclusive=True)                    # s_d: [..., D]
    num_prefixes = tf.cast(tf.reduce_max(tf.reduce_sum(x, -1)), tf.int32) + 1
    s = tf.cast(tf.range(num_prefixes), tf.float32)[:, None]    # [S, 1]
    # Row s selects the first s sounding keys: [..., S, D].
    first_s = x[..., None, :] * tf.cast(below[..., None, :] < s, tf.float32)
    pre = self._hidden_bias[..., None, :] + tf.tensordot(first_s, self._input_weights,
                                                         [[-1], [1]])        # A_s: [..., S, H]
    logits = tf.tensordot(tf.sigmoid(pre), self._output_weights, [[-1], [1]])  # [..., S, D]
    # Key d takes its logit from prefix s_d.
    pick = tf.linalg.matrix_transpose(tf.one_hot(tf.cast(below, tf.int32), num_prefixes))
    return self._visible_bias + tf.reduce_sum(pick * logits, -2)

  def conditional_probs(self, x):
    """`p(x_d = 1 | x_<d)` given `x` `[..., D]`: each key's probability given the true lower
    keys. (The marginals `p(x_d = 1)` are not tractable: `mean` is not defined.)"""
    return tf.sigmoid(self.conditional_logits(x))

  def _log_prob(self, x):
    logits = self.conditional_logits(x)
    x = tf.broadcast_to(tf.convert_to_tensor(x, tf.float32), tf.shape(logits))
    # log sigmoid(l) for x = 1 and log sigmoid(-l) for x = 0, stably.
    return -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), -1)

  def sample_with_uniform(self, uniform, temperature=1.0):
    """Draws frames key by key, lowest first, `x_d = [u_d < p(x_d = 1 | x_<d)]`.

    Args:
      uniform: `U(0, 1)` noise `[...batch, D]`, one number per key (the models' stateless
        generation passes it in; `sample` draws it).
      temperature: divides each key's conditional logit, `sigmoid(logit_d / temperature)`:
        below 1 every key's choice is surer (towards its more likely value given the keys
        below), above 1 less sure. This tempers the conditionals, not the joint
        `p(x)^(1/T)`, whose normaliser would be a sum over 2^D frames. 1: the NADE itself.

    Returns:
      float32 `[...batch, D]` of 0/1.
    """
    uniform = tf.convert_to_tensor(uniform, tf.float32)
    shape = tf.shape(uniform)
    num_keys, units = self._output_weights.shape
    # All batch dimensions in one, so that every per-key product is a plain 2-D matmul.
    flat = lambda t, n: tf.reshape(tf.broadcast_to(t, tf.concat([shape[:-1], [n]], 0)), [-1, n])
    a = flat(self._hidden_bias, units)                       # a_1 = c: [N, H]
    # Per-key columns split once: slicing inside the loop would add an op per key. The
    # temperature divides the logits b_d + V[d] . h_d through b and V, once.
    u_cols = tf.split(flat(uniform, num_keys), num_keys, axis=1)               # [N, 1] each
    b_cols = tf.split(flat(self._visible_bias / temperature, num_keys), num_keys,
                      axis=1)                                                  # [N, 1] each
    v_cols = tf.split(tf.transpose(self._output_weights / temperature), num_keys,
                      axis=1)                                                  # [H, 1] each
    w_rows = tf.split(tf.transpose(self._input_weights), num_keys, axis=0)     # [1, H] each
    # A Python loop over the D keys, unrolled into the graph: a symbolic loop (tf.scan) costs
    # more in per-iteration overhead than its D small steps compute (1.4x slower sampling).
    keys = []
    for u_d, b_d, v_d, w_d in zip(u_cols, b_cols, v_cols, w_rows):
      x_d = tf.cast(u_d < tf.sigmoid(b_d + tf.matmul(tf.sigmoid(a), v_d)), tf.float32)
      a = a + x_d * w_d
      keys.append(x_d)
    return tf.reshape(tf.concat(keys, axis=1), shape)

  def _sample_n(self, n, seed=None):
    shape = tf.concat([[n], self.batch_shape_tensor(), self.event_shape_tensor()], 0)
    return self.sample_with_uniform(tf.random.stateless_uniform(
        shape, seed=tfp.random.sanitize_seed(seed)))


def fit(frames, units, steps, batch_size=500, learning_rate=3e-3, seed=0):
  """Maximum-likelihood fit of one unconditional NADE (the same biases for every frame) to
  `frames` `[N, D]` of 0/1, by Adam on random minibatches.

  RNN-NADE's authors pre-trained their NADE this way before training the recurrent model
  [2]: the shared `W`, `V` then start out modelling which keys sound together (the static
  NADE learns JSB's four-voice frames within a few thousand steps), where from a random start
  the recurrent conditioning of the biases fits first and the within-frame structure lags.

  Returns:
    {'visible_bias' `[D]`, 'hidden_bias' `[H]`, 'input_weights' `[H, D]`,
      'output_weights' `[D, H]`}: numpy float32 arrays.
  """
  frames = np.asarray(frames, np.float32)
  num_keys = frames.shape[1]
  rng = np.random.default_rng(seed)
  # b starts at each key's log-odds of sounding (clipped away from 0 and 1), as an
  # independent-keys fit would end; W and V small, so that training starts near that fit.
  frequency = np.clip(frames.mean(0), 1e-3, 1 - 1e-3)
  params = {
      'visible_bias': tf.Variable(np.log(frequency / (1 - frequency)).astype(np.float32)),
      'hidden_bias': tf.Variable(tf.zeros([units])),
      'input_weights': tf.Variable(rng.normal(0, 0.01, [units, num_keys]).astype(np.float32)),
      'output_weights': tf.Variable(rng.normal(0, 0.01, [num_keys, units]).astype(np.float32)),
  }
  variables = list(params.values())
  optimizer = keras.optimizers.Adam(learning_rate)

  @compiled.function
  def step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(NADE(**params).log_prob(x))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  for _ in range(steps):
    step(frames[rng.integers(0, len(frames), min(batch_size, len(frames)))])
  return {name: v.numpy() for name, v in params.items()}
