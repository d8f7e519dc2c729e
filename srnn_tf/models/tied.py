"""The tied-parallel models of Johnson 2017 [1]: one network instance per key, its weights
tied across keys, so that what the model learns of one key it knows of every other.

Both models share a **time axis**: each key `n` reads its own inputs from the previous frame
(`note_features.NoteFeatures`: the window an octave either side, the pitch-class bins, the
key's position) and a stack of LSTMs runs along time for every key in parallel (the batch's
`B * K` rows), giving `o_{t,n}` `[B, T, K, H]`. The frame `v_t` is then modelled key by key,
low to high, given `o_t`:

* **BALSTM** (bi-axial LSTM): a second stack of LSTMs runs along the keys of the frame over
  `[o_{t,n}, v_{t,n-1}]`; a sigmoid of its output is `p(v_{t,n} = 1 | v_{t,<n}, v_{<t})`.
* **TP-LSTM-NADE**: a NADE along the keys whose weights are tied too: key `n`'s hidden units
  read the window and bins of the keys already chosen below it
  (`NoteFeatures(causal=True)`), and its visible and hidden biases are projections of
  `o_{t,n}` (`TiedNADE`).

Each frame's distribution is an exact product of per-key conditionals, so the
log-likelihood is exact (the `kl` term is zero), as for the RNN. Training computes every
key's conditional at once from the true frame (teacher forcing); sampling runs the keys one
after the other.

[1] D. D. Johnson. Generating Polyphonic Music Using Tied Parallel Networks. EvoMUSART 2017,
    LNCS 10198.
"""

import keras
import numpy as np
import tensorflow as tf

from srnn_tf import layers
from srnn_tf.keyboard import NUM_KEYS
from srnn_tf.models.base import SequenceModel
from srnn_tf.note_features import OCTAVE, NoteFeatures
from srnn_tf.recurrences import linear


def bernoulli_log_prob(logits, x):
  """`log p(x)` summed over the keys, from each key's conditional logit: `[..., K]` -> `[...]`."""
  return -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), -1)


class TiedParallelModel(SequenceModel):
  """The time axis shared by the tied models; subclasses give the key axis.

  Args:
    time_units: sizes of the time-axis LSTM layers (Johnson: 200, 200).
    key_position: whether each key's inputs include its MIDI number (without it the model
      is transposition equivariant: `note_features`).
    dropout_lstm: dropout rate on every LSTM layer's output in training (Johnson: 0.5).
    num_keys: K, the keys of a frame (88; the tests use fewer).
    **kwargs: training options of `SequenceModel`.

  Subclasses implement `key_logits(o, x, training)` (each key's conditional logit given the
  true lower keys, `[B, T, K]`) and `sample_keys(o, uniform, temperature)` (a frame `[B, K]`
  drawn key by key from `o` `[B, K, H]`).
  """

  keys_in_order = True

  def __init__(self, time_units=(200, 200), key_position=True, dropout_lstm=0.0,
               num_keys=NUM_KEYS, **kwargs):
    super().__init__(**kwargs)
    self.num_keys = num_keys
    self.time_units = tuple(time_units)
    self.key_position = key_position
    self._set_dropout(lstm=dropout_lstm)
    self.note_features = NoteFeatures(num_keys, position=key_position, name='note_features')
    self.time_lstms = []
    width = self.note_features.size
    for i, units in enumerate(self.time_units):
      layer = layers.ProjectedLSTM(units, name=f'time_lstm_{i}')
      layer.build((None, width))
      self.time_lstms.append(layer)
      width = units

  def state_sizes(self):
    """`h` and `c` of every time-axis layer, each `[B, K * H_l]` (all keys' states)."""
    return tuple(self.num_keys * units for units in self.time_units for _ in 'hc')

  def time_axis(self, u, mask=None, training=False, initial_state=None):
    """The time-axis outputs from the previous frames `u` `[B, T, K]`.

    Args:
      u: `u_t = v_{t-1}`, `[B, T, K]`.
      mask: optional `[B, T]`; the states hold on padding.
      initial_state: optional `state_sizes()`-shaped tuple.

    Returns:
      `o` `[B, T, K, H]` and the final state (as `state_sizes()`).
    """
    batch, steps, keys = tf.shape(u)[0], tf.shape(u)[1], self.num_keys
    inputs = self.note_features(u)                                           # [B, T, K, F]
    # Time-major, all keys of all pieces as rows (row b * K + n): one LSTM run for them all.
    rows = tf.reshape(tf.transpose(inputs, [1, 0, 2, 3]),
                      [steps, batch * keys, self.note_features.size])
    keep = None
    if mask is not None:
      keep = tf.reshape(tf.repeat(tf.transpose(mask)[:, :, None], keys, axis=2),
                        [steps, batch * keys, 1])
    final = []
    for i, layer in enumerate(self.time_lstms):
      start = None
      if initial_state is not None:
        start = tuple(tf.reshape(s, [batch * keys, layer.units])
                      for s in initial_state[2 * i:2 * i + 2])
      h, c = layer(rows, keep=keep, initial_state=start)
      final += [tf.reshape(h[-1], [batch, keys * layer.units]),
                tf.reshape(c[-1], [batch, keys * layer.units])]
      rows = self._drop(h, 'lstm', training)
    o = tf.reshape(rows, [steps, batch, keys, self.time_units[-1]])
    return tf.transpose(o, [1, 0, 2, 3]), tuple(final)

  def key_logits(self, o, x, training=False):
    """Each key's conditional logit given the true lower keys of `x` `[B, T, K]`: `[B, T, K]`."""
    raise NotImplementedError

  def sample_keys(self, o, uniform, temperature=1.0):
    """A frame `[B, K]` of 0/1 drawn key by key, `v_n = [uniform_n < p(v_n = 1 | v_<n)]`,
    each conditional logit divided by `temperature`; `o` `[B, K, H]`, `uniform` `[B, K]`."""
    raise NotImplementedError

  def compute_terms(self, features, training=False, initial_state=None, noise=None):
    """Exact per-frame log-likelihood: {'log_px', 'kl' (zeros): `[B, T]`, 'final_state'}."""
    del noise
    o, final = self.time_axis(features['u'], features['mask'], training, initial_state)
    log_px = bernoulli_log_prob(self.key_logits(o, features['x'], training), features['x'])
    return {'log_px': log_px, 'kl': tf.zeros_like(log_px), 'final_state': final}

  def reconstruct(self, inputs, noise=None):
    """Each key's probability in every frame given the previous frames and the frame's true
    lower keys, `[B, T, K]`."""
    del noise
    features = self._features(inputs)
    o, _ = self.time_axis(features['u'], features['mask'])
    return tf.sigmoid(self.key_logits(o, features['x']))

  # -- generation ------------------------------------------------------------------------------

  def generation_state(self, prime, batch_size, seed):
    """The time-axis states `[B * K, H_l]` (h, c per layer) and the last frame `[B, K]`."""
    del seed
    if prime is None:
      zeros = [tf.zeros([batch_size * self.num_keys, units])
               for units in self.time_units for _ in 'hc']
      return (*zeros, tf.zeros([batch_size, self.num_keys]))
    _, final = self.time_axis(prime['u'], prime['mask'])
    return (*self.time_rows(final), prime['x'][:, -1])

  def time_rows(self, final):
    """The time axis's final state (`state_sizes()`-shaped, `[B, K * H_l]`) as the rows a
    `time_step` reads, `[B * K, H_l]`."""
    units = [u for u in self.time_units for _ in 'hc']
    return [tf.reshape(s, [-1, n]) for s, n in zip(final, units)]

  def time_step(self, lstm_states, v_prev):
    """One step of the time axis: `(new lstm_states, o)`, `o` `[B, K, H]`, from the states
    (h, c per layer, `[B * K, H_l]`) and the previous frame `v_prev` `[B, K]`."""
    batch = tf.shape(v_prev)[0]
    rows = tf.reshape(self.note_features(v_prev),
                      [batch * self.num_keys, self.note_features.size])
    new_states = []
    for i, layer in enumerate(self.time_lstms):
      h, c = layer.step(layer.project(rows), tuple(lstm_states[2 * i:2 * i + 2]))
      new_states += [h, c]
      rows = h
    return new_states, tf.reshape(rows, [batch, self.num_keys, self.time_units[-1]])

  def generation_step(self, state, noise_z, uniform, temperature=1.0):
    del noise_z
    *lstm_states, v_prev = state
    new_states, o = self.time_step(lstm_states, v_prev)
    v = self.sample_keys(o, uniform, temperature)
    return (*new_states, v), v


@keras.saving.register_keras_serializable(package='srnn_tf')
class BALSTM(TiedParallelModel):
  """The bi-axial LSTM: the time axis, then LSTMs along the keys of each frame.

  Args:
    key_units: sizes of the key-axis LSTM layers (Johnson: 100, 100).
    **kwargs: the time axis's options (`TiedParallelModel`) and training options.
  """

  def __init__(self, key_units=(100, 100), **kwargs):
    super().__init__(**kwargs)
    self.key_units = tuple(key_units)
    self.key_lstms = []
    width = self.time_units[-1] + 1            # [o_n, v_{n-1}]
    for i, units in enumerate(self.key_units):
      layer = layers.ProjectedLSTM(units, name=f'key_lstm_{i}')
      layer.build((None, width))
      self.key_lstms.append(layer)
      width = units
    self.key_out = layers.dense(1, name='key_out')
    self.key_out.build((None, width))

  def key_logits(self, o, x, training=False):
    batch, steps = tf.shape(x)[0], tf.shape(x)[1]
    below = tf.pad(x[..., :-1], [[0, 0], [0, 0], [1, 0]])                    # v_{n-1}
    inputs = tf.concat([o, below[..., None]], -1)                             # [B, T, K, H+1]
    # Key-major, every frame of the batch a row: one LSTM run along the keys for them all.
    rows = tf.reshape(tf.transpose(inputs, [2, 0, 1, 3]),
                      [self.num_keys, batch * steps, inputs.shape[-1]])
    for layer in self.key_lstms:
      h, _ = layer(rows)
      rows = self._drop(h, 'lstm', training)
    logits = linear(rows, self.key_out.kernel, self.key_out.bias)[..., 0]    # [K, B * T]
    return tf.transpose(tf.reshape(logits, [self.num_keys, batch, steps]), [1, 2, 0])

  def sample_keys(self, o, uniform, temperature=1.0):
    first = self.key_lstms[0]
    units = self.time_units[-1]
    # The first layer's input product: o's part for all keys at once; v_{n-1}'s (one row of
    # the kernel) inside the loop.
    from_o = tf.transpose(linear(o, first.kernel[:units]), [1, 0, 2])       # [K, B, 4H]
    from_below = first.kernel[units]                                         # [4H]
    zeros = lambda n: tf.zeros([tf.shape(o)[0], n])

    # A symbolic loop over the keys (not unrolled): the graph, and so the tracing of
    # generation and of the SavedModel's sampling signatures, stays small.
    def step(carry, elems):   # tf.scan keeps every step's carry: v is read from it
      states, v_below = carry
      projected, uniform_n = elems
      new_states, h = [], projected + v_below * from_below
      for j, layer in enumerate(self.key_lstms):
        state = layer.step(h if j == 0 else layer.project(h), states[j])
        new_states.append(state)
        h = state[0]
      logit = linear(h, self.key_out.kernel, self.key_out.bias)
      v = tf.cast(uniform_n[:, None] < tf.sigmoid(logit / temperature), tf.float32)
      return new_states, v

    start = ([(zeros(n), zeros(n)) for n in self.key_units], zeros(1))
    _, keys = tf.scan(step, (from_o, tf.transpose(uniform)), start)          # [K, B, 1]
    return tf.transpose(keys[..., 0])



class TiedNADE(keras.layers.Layer):
  """Johnson's modified NADE along the keys, its weights tied across keys.

  For key `n` with time-axis output `o_n` `[H]` and the causal inputs `g_n` (the window and
  bins of the keys already chosen below `n`, `NoteFeatures(causal=True)`, `[24]`):

      h_n = sigmoid(W g_n + A o_n + a)                  (`nade_units` hidden units)
      logit p(v_n = 1 | v_<n, o) = w . h_n + b . o_n + b_0

  so the hidden and visible biases are projections of `o_n` (the visible one a scalar).

  Args:
    units: the NADE's hidden units (Johnson: 100).
    context_units: H, the size of `o_n`.
    num_keys: K.
  """

  def __init__(self, units, context_units, num_keys=NUM_KEYS, **kwargs):
    super().__init__(**kwargs)
    self.units = units
    self.context_units = context_units
    self.num_keys = num_keys
    self.chosen = NoteFeatures(num_keys, causal=True, name='chosen_features')
    self.input_weights = self.add_weight(name='input_weights', shape=(self.chosen.size, units),
                                         initializer='glorot_normal')          # W
    # A and b side by side: o's whole contribution in one product.
    self.context_weights = self.add_weight(name='context_weights',
                                           shape=(context_units, units + 1),
                                           initializer='glorot_normal')
    self.context_bias = self.add_weight(name='context_bias', shape=(units + 1,),
                                        initializer='zeros')                     # a, b_0
    self.output_weights = self.add_weight(name='output_weights', shape=(units, 1),
                                          initializer='glorot_normal')          # w

  def _context(self, o):
    """`A o + a` `[..., K, units]` and `b . o + b_0` `[..., K]`."""
    both = linear(o, self.context_weights, self.context_bias)
    return both[..., :self.units], both[..., self.units]

  def logits(self, o, v):
    """Every key's conditional logit given the true frame `v` `[..., K]`: `[..., K]`."""
    hidden_bias, visible_bias = self._context(o)
    hidden = tf.sigmoid(linear(self.chosen(v), self.input_weights) + hidden_bias)
    return linear(hidden, self.output_weights)[..., 0] + visible_bias

  def sample(self, o, uniform, temperature=1.0):
    """A frame `[B, K]` drawn key by key from `o` `[B, K, H]` and `uniform` `[B, K]`."""
    hidden_bias, visible_bias = self._context(o)
    window_weights = self.input_weights[:OCTAVE]        # rows of the keys n - 12 .. n - 1
    bin_weights = self.input_weights[OCTAVE:]
    pitch_class = (np.arange(self.num_keys) + self.chosen.lowest_note) % OCTAVE
    # Per key: where bins[k] reads the counts (n's pitch class + k), and n's own class.
    rotation = ((pitch_class[:, None] + np.arange(OCTAVE)) % OCTAVE).astype(np.int32)
    own_class = np.eye(OCTAVE, dtype=np.float32)[pitch_class]
    batch = tf.shape(o)[0]

    def step(carry, elems):   # tf.scan keeps every step's carry: v is read from it
      # The last 12 keys chosen, lowest first, and the chosen keys by absolute pitch class.
      window, counts, _ = carry
      hidden_bias_n, visible_bias_n, uniform_n, rotation_n, own_class_n = elems
      bins = tf.gather(counts, rotation_n, axis=1)
      pre = (tf.matmul(window, window_weights) + tf.matmul(bins, bin_weights) +
             hidden_bias_n)
      logit = tf.matmul(tf.sigmoid(pre), self.output_weights)[:, 0] + visible_bias_n
      v = tf.cast(uniform_n < tf.sigmoid(logit / temperature), tf.float32)[:, None]
      return tf.concat([window[:, 1:], v], 1), counts + v * own_class_n, v

    start = (tf.zeros([batch, OCTAVE]), tf.zeros([batch, OCTAVE]), tf.zeros([batch, 1]))
    _, _, keys = tf.scan(step, (tf.transpose(hidden_bias, [1, 0, 2]), tf.transpose(visible_bias),
                             tf.transpose(uniform), rotation, own_class), start)   # [K, B, 1]
    return tf.transpose(keys[..., 0])

  def get_config(self):
    return {**super().get_config(), 'units': self.units, 'context_units': self.context_units,
            'num_keys': self.num_keys}


@keras.saving.register_keras_serializable(package='srnn_tf')
class TPLSTMNADE(TiedParallelModel):
  """The tied-parallel LSTM-NADE: the time axis, then the tied NADE along the keys.

  Args:
    nade_units: the NADE's hidden units (Johnson: 100).
    **kwargs: the time axis's options (`TiedParallelModel`) and training options.
  """

  def __init__(self, nade_units=100, **kwargs):
    super().__init__(**kwargs)
    self.nade_units = nade_units
    self.nade = TiedNADE(nade_units, self.time_units[-1], self.num_keys, name='tied_nade')

  def key_logits(self, o, x, training=False):
    del training
    return self.nade.logits(o, x)

  def sample_keys(self, o, uniform, temperature=1.0):
    return self.nade.sample(o, uniform, temperature)
