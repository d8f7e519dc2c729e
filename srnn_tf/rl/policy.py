"""The SRNN's generative model as a policy, and the KL-controlled policy gradient.

At step t the policy samples `z_t ~ p(z_t | z_{t-1}, d_t)` and then the action
`x_t ~ p(x_t | z_t, d_t)` (88 independent keys), with `d_t = GRU(d_{t-1}, e(x_{t-1}))`. The
log-probability of a trajectory is exact:

    log pi(tau) = sum_t log p(z_t | z_{t-1}, d_t) + log p(x_t | z_t, d_t),

and, given the sampled `x` and `z`, it is computed for all steps at once (the GRU over the
sampled frames, then the prior and the emission in parallel over time).

The action space has 2^88 values per frame, so Q-learning over frames (Jaques et al.'s
choice for melodies, 38 actions) is out of reach; a policy gradient needs only log pi.

KL control (Jaques et al. 2016): maximise `E_pi[sum_t r_t - beta (log pi_t - log pi0_t)]`,
pi0 the pre-trained model. REINFORCE with reward-to-go: the surrogate loss

    L = -mean_b sum_t stop_gradient(G_t - b_t) log pi_t,   G_t = sum_{s >= t} (r_s - beta kl_s)

has the policy gradient as its gradient (`kl_s = log pi_s - log pi0_s` for the sampled step;
its own dependence on the parameters adds `E[grad log pi] = 0`).
"""

import tensorflow as tf

from srnn_tf import seeds
from srnn_tf.midi import NUM_KEYS


def _shift(v):
  """`[B, T, ...]` -> the previous step's value, zeros first."""
  return tf.concat([tf.zeros_like(v[:, :1]), v[:, :-1]], axis=1)


def sample_trajectories(model, num_steps, batch_size, seed):
  """Samples `(x, z)` from the SRNN's generative model: `[B, T, 88]` and `[B, T, Z]`.

  From silence (`d_0 = 0, z_0 = 0, x_0 = 0`); `seed` is two ints (stateless sampling).
  """
  seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
  state = model.generation_state(None, batch_size, seed)
  noise_z = tf.random.stateless_normal([num_steps, batch_size, model.z_dim],
                                       seed=seeds.derive(seed, 2))
  uniform = tf.random.stateless_uniform([num_steps, batch_size, NUM_KEYS],
                                        seed=seeds.derive(seed, 3))

  def step(carry, elems):
    new_state, _ = model.generation_step(carry, *elems)
    return new_state

  _, z, x = tf.scan(step, (noise_z, uniform), state)
  return tf.transpose(x, [1, 0, 2]), tf.transpose(z, [1, 0, 2])


def trajectory_log_prob(model, x, z):
  """`log p(z_t | z_{t-1}, d_t) + log p(x_t | z_t, d_t)` per step, `[B, T]`, all at once."""
  d = model.deterministic_states(_shift(x))
  return model.prior(d, _shift(z)).log_prob(z) + model.decoder(d, z).log_prob(x)


def rewards_to_go(per_step):
  """`G_t = sum_{s >= t} per_step_s` along axis 1 (`[B, T]`)."""
  return tf.cumsum(per_step, axis=1, reverse=True)


def surrogate_loss(log_probs, advantages):
  """REINFORCE surrogate: its gradient is `-mean_b sum_t advantage_t grad log pi_t`."""
  return -tf.reduce_mean(tf.reduce_sum(tf.stop_gradient(advantages) * log_probs, axis=1))
