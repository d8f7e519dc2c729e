"""The benchmark suite's measurements give sane figures (its speed targets are not tested:
they live in `python -m benchmarks.run`)."""

from benchmarks import measure
from srnn_tf import configs, trainer


def _matmul_flops_per_step(model):
  """2 x inputs x outputs of every matmul an RNN does per time step (the paper's structure:
  embedding MLP of u_t, the GRU's input and recurrent products, the emission MLP)."""
  units = [88, *model.embed_units]
  flops = sum(2 * a * b for a, b in zip(units, units[1:]))
  flops += 2 * (units[-1] + model.d_dim) * 3 * model.d_dim
  flops += 2 * (model.d_dim * model.hidden_units + model.hidden_units * 88)
  return flops


def test_counted_flops_of_an_rnn_match_its_matmuls_plus_elementwise_work():
  model = trainer.build_model(configs.get_config('small', model='rnn', carry_state=False), 1)
  counts = measure.train_flops_per_step(model, steps=20)
  matmuls = _matmul_flops_per_step(model)
  # Above the matmuls alone; the rest (biases, gates, activations, log-likelihood) is
  # elementwise: at most a few operations per unit, well under the matmuls' share here.
  assert matmuls < counts['forward_flops_per_step'] < 1.5 * matmuls
  # Backward: about twice the forward (gradients of both operands of every product).
  assert 2.5 < counts['train_flops_per_step'] / counts['forward_flops_per_step'] < 3.5


def test_matmul_rate_is_positive_and_finite():
  rate = measure.matmul_gflops(256, 256, 256, seconds=0.1)   # 59 products per call
  assert 0 < rate < 1e5


def test_counted_flops_of_a_tied_model_match_its_matmuls():
  """The BALSTM's counted training FLOPs per time step: about 3x (forward, and the gradients
  of both operands) its LSTMs' matmuls, 2 x inputs x 4 x units per key and layer."""
  from srnn_tf.testing import tiny
  model = tiny.model('balstm', num_keys=12)
  model.build()
  keys, matmuls, width = 12, 0, model.note_features.size
  for units in model.time_units:
    matmuls += 2 * keys * (width + units) * 4 * units
    width = units
  width = model.time_units[-1] + 1
  for units in model.key_units:
    matmuls += 2 * keys * (width + units) * 4 * units
    width = units
  counted = measure.tied_train_flops_per_step(model, batch=2, steps=2)
  assert 2.5 * matmuls < counted < 6 * matmuls


def test_lstm_timing_runs_the_loops_forward_and_backward():
  seconds = measure.lstm_seconds(steps=5, rows=3, units=4, repeats=2)
  assert 0 < seconds < 10


def test_chain_flops_split_into_the_shared_time_axis_and_each_particles_key_axis():
  from benchmarks import chain_smc
  from srnn_tf.testing import tiny
  model = tiny.model('srnn_balstm', num_keys=12)      # time axis 5, 4; key axis 4, 3
  work = chain_smc.flops_per_frame(model, key_lstms=True)
  width = model.note_features.size
  assert work['shared'] == 12 * (2 * (width + 5) * 20 + 2 * (5 + 4) * 16)
  assert work['per_particle'] == 12 * (2 * (4 + 1 + 4) * 16 + 2 * (4 + 3) * 12)
