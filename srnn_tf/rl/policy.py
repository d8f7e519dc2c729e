"""A latent model's generative model as a policy, and the KL-controlled policy gradient.

At step t the policy samples `z_t` from the model's prior and then the action `x_t` from its
emission (88 keys; the SRNN's: `z_t ~ p(z_t | z_{t-1}, d_t)`, `x_t ~ p(x_t | z_t, d_t)`, with
`d_t = GRU(d_{t-1}, e(x_{t-1}))`). The log-probability of a trajectory is exact:

    log pi(tau) = sum_t log p(z_t | .) + log p(x_t | .),

and, given the sampled `x` and `z`, each model computes it for all steps at once
(`LatentModel.joint_log_prob`).

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
from srnn_tf.keyboard import NUM_KEYS


def sample_trajectories(model, num_steps, batch_size, seed):
  """Samples `(x, z)` from a latent model's generative model: `[B, T, 88]` and `[B, T, Z]`.

  From silence and the zero state; `seed` is two ints (stateless sampling).
  """
  seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
  state = model.generation_state(None, batch_size, seed)
  noise_z = tf.random.stateless_normal([num_steps, batch_size, model.z_dim],
                                       seed=seeds.derive(seed, 2))
  uniform = tf.random.stateless_uniform([num_steps, batch_size, NUM_KEYS],
                                        seed=seeds.derive(seed, 3))

  def step(carry, elems):
    new_state, x = model.generation_step(carry[0], *elems)
    return new_state, x, model.generation_latent(new_state)

  _, x, z = tf.scan(step, (noise_z, uniform), (state, uniform[0], noise_z[0]))
  return tf.transpose(x, [1, 0, 2]), tf.transpose(z, [1, 0, 2])


def trajectory_log_prob(model, x, z):
  """`log p(z_t | .) + log p(x_t | .)` per step, `[B, T]`, all at once."""
  return model.joint_log_prob(x, z)


def rewards_to_go(per_step):
  """`G_t = sum_{s >= t} per_step_s` along axis 1 (`[B, T]`)."""
  return tf.cumsum(per_step, axis=1, reverse=True)


def surrogate_loss(log_probs, advantages):
  """REINFORCE surrogate: its gradient is `-mean_b sum_t advantage_t grad log pi_t`."""
  return -tf.reduce_mean(tf.reduce_sum(tf.stop_gradient(advantages) * log_probs, axis=1))
