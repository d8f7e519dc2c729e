"""The measurements behind the benchmark scripts (no flags here, so scripts can share them).

Every rate is a median over repeated measurements after a warm-up (tracing, first-call
allocations). Time steps are batch x frames; FLOPs are counted by TF's graph profiler.
"""

import resource
import time

import numpy as np

from srnn_tf import configs

BATCH, STEPS = 16, 100   # the paper's batch and window, for FLOP counts


def _oracle():
  from srnn_tf.testing import oracle  # imports TensorFlow: after flag parsing
  return oracle


def peak_rss_mib() -> float:
  """This process's peak resident memory so far (Linux reports KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jsb_batches(config, data_dir=None, count=None):
  """Training batches of real JSB (srnn2016) at `config`'s batch size and window, as numpy."""
  from srnn_tf.data import corpus as corpus_lib, pipeline
  corpus = corpus_lib.load_corpus('jsb', 'srnn2016', data_dir)
  ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len, config.batch_size)
  return [{k: v.numpy() for k, v in b.items()} for b in ds.take(count or steps)], steps


def objective_overrides(objective='elbo', num_particles=4) -> dict:
  """Config overrides that train on `objective`: the particle objectives (iwae, fivo) train on
  independent windows, so they need `carry_state=False`."""
  if objective == 'elbo':
    return {}
  return dict(objective=objective, num_particles=num_particles, carry_state=False)


def model_and_batches(model_name, config_name, data_dir=None, **overrides):
  """A freshly built, compiled model of the preset and its JSB training batches."""
  from srnn_tf import trainer
  config = configs.get_config(config_name, model=model_name, dataset='jsb',
                              data_version='srnn2016', data_dir=data_dir, **overrides)
  batches, steps = jsb_batches(config, data_dir)
  return trainer.build_model(config, steps), batches


def train_throughput(model, batches, steps=30, repeats=5):
  """Median time steps per second of `model.train_on_batch` over `batches` (a cycle).

  Returns:
    `(median, [rate of each measurement])`.
  """
  frames = int(np.prod(batches[0]['mask'].shape))
  for b in batches[:3]:
    model.train_on_batch(b)
  rates = []
  for r in range(repeats):
    start = time.perf_counter()
    for i in range(steps):
      model.train_on_batch(batches[(r * steps + i) % len(batches)])
    rates.append(steps * frames / (time.perf_counter() - start))
  return float(np.median(rates)), rates


def oracle_ratio(config_name='paper', steps=10, repeats=5, data_dir=None) -> dict:
  """The package's SRNN train step against the per-step oracle's (`srnn_tf/testing/oracle.py`),
  same weights, batches, loss, clipping and Adam step, measured alternately; medians."""
  import keras
  import tensorflow as tf
  from srnn_tf import trainer
  oracle = _oracle()
  config = configs.get_config(config_name, dataset='jsb', data_version='srnn2016',
                              carry_state=False, data_dir=data_dir)
  batches, steps_per_epoch = jsb_batches(config, data_dir, count=8)
  model = trainer.build_model(config, steps_per_epoch)
  optimizer = keras.optimizers.Adam(1e-3, epsilon=1e-4)
  optimizer.build(model.trainable_variables)

  @tf.function
  def oracle_step(f):
    noise = tf.random.normal([config.batch_size, config.seq_len, config.z_dim])
    with tf.GradientTape() as tape:
      log_px, kl = oracle.srnn_terms(model, f['x'], f['u'], f['mask'], noise, xp=oracle.TF)
      loss = -tf.reduce_sum((log_px - kl) * f['mask']) / tf.reduce_sum(f['mask'])
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 1.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  frames = config.batch_size * config.seq_len
  fast = lambda i: model.train_on_batch(batches[i % len(batches)])
  slow = lambda i: oracle_step(batches[i % len(batches)])
  for fn in (fast, slow):   # warm up: tracing
    fn(0)
    fn(1)
  rates = {'package': [], 'oracle': []}
  for r in range(repeats):
    for name, fn in (('package', fast), ('oracle', slow)):
      start = time.perf_counter()
      for i in range(steps):
        fn(r * steps + i)
      rates[name].append(steps * frames / (time.perf_counter() - start))
  package, slow_rate = float(np.median(rates['package'])), float(np.median(rates['oracle']))
  return {'package': package, 'oracle': slow_rate, 'ratio': package / slow_rate,
          'repeats': repeats, 'steps': steps}


def precision_ratio(steps=10, repeats=4, data_dir=None) -> dict:
  """SRNN paper-size train steps with `train_precision` float32 and bfloat16, same weights
  and batches, measured alternately in one process; medians."""
  models = {}
  for precision in ('float32', 'bfloat16'):
    models[precision], batches = model_and_batches('srnn', 'paper', data_dir,
                                                   train_precision=precision)
  models['bfloat16'].set_weights(models['float32'].get_weights())
  frames = int(np.prod(batches[0]['mask'].shape))
  for model in models.values():
    for b in batches[:3]:
      model.train_on_batch(b)
  rates = {p: [] for p in models}
  for r in range(repeats):
    for precision, model in models.items():
      start = time.perf_counter()
      for i in range(steps):
        model.train_on_batch(batches[(r * steps + i) % len(batches)])
      rates[precision].append(steps * frames / (time.perf_counter() - start))
  f32, bf16 = (float(np.median(rates[p])) for p in ('float32', 'bfloat16'))
  return {'float32': f32, 'bfloat16': bf16, 'ratio': bf16 / f32}


def train_flops_per_step(model, steps: int = STEPS) -> dict:
  """Counted forward and forward+backward FLOPs per time step of `model` (SRNN/VRNN/RNN).

  The profiler reads a graph of the oracle of the tests (the same maths as the model, with
  its time loop unrolled in Python so every step is visible; a while-loop body would be
  counted once). Matmuls count 2mnk, elementwise ops one per element. The optimiser's
  update (a few operations per parameter per batch, under 0.1% here) is left out.
  """
  import tensorflow as tf
  oracle = _oracle()
  seq = tf.TensorSpec([BATCH, steps, 88], tf.float32)
  mask = tf.TensorSpec([BATCH, steps], tf.float32)
  noise = tf.TensorSpec([BATCH, steps, max(model.latent_size(), 1)], tf.float32)

  def loss(x, u, m, e):
    kind = type(model).__name__
    if kind == 'SRNN':
      log_px, kl = oracle.srnn_terms(model, x, u, m, e, xp=oracle.TF)
    elif kind == 'VRNN':
      log_px, kl = oracle.vrnn_terms(model, x, m, e, xp=oracle.TF)
    else:
      log_px, kl = oracle.rnn_log_px(model, x, u, xp=oracle.TF), 0.0
    return -tf.reduce_sum((log_px - kl) * m)

  def loss_and_grads(*args):
    with tf.GradientTape() as tape:
      value = loss(*args)
    return value, tape.gradient(value, model.trainable_variables)

  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  counts = {}
  for name, fn in (('forward', loss), ('train', loss_and_grads)):
    graph = tf.function(fn).get_concrete_function(seq, seq, mask, noise).graph
    profile = tf.compat.v1.profiler.profile(graph=graph, options=options)
    counts[f'{name}_flops_per_step'] = profile.total_float_ops / (BATCH * steps)
  return counts


def tied_train_flops_per_step(model, batch: int = 16, steps: int = 2) -> float:
  """Counted FLOPs of a tied model's loss and its gradients, per time step: TF's profiler on
  the graph of the key-by-key oracle (`srnn_tf.testing.tied_oracle`, its loops unrolled in
  Python), `batch` x `steps` frames traced (the count per frame does not depend on them)."""
  import tensorflow as tf
  from srnn_tf.note_features import NoteFeatures
  from srnn_tf.testing import tied_oracle
  features = NoteFeatures(model.num_keys, position=model.key_position)
  causal = NoteFeatures(model.num_keys, causal=True)

  def loss_and_grads(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_sum(tied_oracle.log_px(model, x, features, causal))
    return loss, tape.gradient(loss, model.trainable_variables)

  graph = tf.function(loss_and_grads).get_concrete_function(
      tf.TensorSpec([batch, steps, model.num_keys], tf.float32)).graph
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  profile = tf.compat.v1.profiler.profile(graph=graph, options=options)
  return profile.total_float_ops / (batch * steps)


def sampling_rate(model, frames: int, repeats: int = 3) -> float:
  """Frames per second of `model.generate` drawing one piece of `frames` frames (traced once
  first; the median over `repeats` seeds)."""
  import tensorflow as tf
  generate = tf.function(lambda seed: model.generate(frames, 1, seed=seed))
  generate(tf.constant([0, 0]))    # trace
  times = []
  for r in range(repeats):
    start = time.perf_counter()
    generate(tf.constant([0, r + 1])).numpy()
    times.append(time.perf_counter() - start)
  return frames / float(np.median(times))


def matmul_gflops(m, k, n, seconds=2.0) -> float:
  """Median GFLOP/s of `[m, k] x [k, n]` fp32 matmuls under the process's thread settings."""
  import tensorflow as tf
  # Variables, and a different left operand per product: a constant operand would let
  # grappler fold or merge the repeated products.
  a = tf.Variable(tf.random.normal([m, k]))
  b = tf.Variable(tf.random.normal([k, n]))
  reps = max(1, int(2e9 / (2 * m * k * n)))   # about 2 GFLOP per call: timer noise is small

  @tf.function
  def run():
    c = tf.zeros([m, n])
    for i in range(reps):
      c += tf.matmul(a + float(i), b)
    return c

  run().numpy()
  rates, start = [], time.perf_counter()
  while time.perf_counter() - start < seconds or len(rates) < 3:
    t = time.perf_counter()
    run().numpy()
    rates.append(2 * m * k * n * reps / (time.perf_counter() - t) / 1e9)
  return float(np.median(rates))


def longest_test_pieces(dataset, count, data_dir=None):
  """The `count` longest test sequences of a srnn2016 corpus (the costliest to evaluate; all
  of them if `count` is None)."""
  from srnn_tf.data import corpus as corpus_lib
  test = corpus_lib.load_corpus(dataset, 'srnn2016', data_dir).splits['test']
  return sorted(test, key=len, reverse=True)[:count]


def eval_throughput(model, sequences, bound, num_particles, repeats=2) -> dict:
  """Time steps (and particle time steps) per second of `eval.py --bound` on `sequences`."""
  from srnn_tf import bounds
  run = lambda: bounds.evaluate_bound(model, sequences, bound, num_particles, progress=False)
  run()   # warm-up: one trace per batch shape
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
  frames = sum(len(s) for s in sequences)
  seconds = float(np.median(times))
  return {'steps_per_sec': frames / seconds,
          'particle_steps_per_sec': frames * num_particles / seconds,
          'seconds': seconds, 'frames': frames}


def lstm_seconds(steps: int, rows: int, units: int, repeats: int = 5) -> float:
  """Median seconds of one `recurrences.lstm` forward and backward pass (compiled): `steps`
  steps of `rows` rows, `units` units (the input projection not included), a loss reading
  every step's `h`."""
  import tensorflow as tf
  from srnn_tf import recurrences
  rng = np.random.default_rng(0)
  projected = tf.constant(rng.normal(size=(steps, rows, 4 * units)), tf.float32)
  kernel = tf.constant(rng.normal(size=(units, 4 * units)) / np.sqrt(units), tf.float32)
  bias = tf.zeros([4 * units])
  zeros = tf.zeros([rows, units])
  keep = tf.ones([steps, rows, 1])

  @tf.function
  def forward_backward():
    with tf.GradientTape() as tape:
      tape.watch([projected, kernel, bias])
      h, _ = recurrences.lstm(projected, zeros, zeros, kernel, bias, keep)
      loss = tf.reduce_sum(h)
    return tape.gradient(loss, [projected, kernel, bias])

  forward_backward()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    forward_backward()
    times.append(time.perf_counter() - start)
  return float(np.median(times))

