"""What SMC with K particles costs the tied models with the SRNN's chain, on MuseData's test set.

    python -m benchmarks.chain_smc [--models=srnn_balstm,srnn_tp_lstm_nade] [--num_particles=100]
                                   [--pieces=2]

The chain enters after the time axis (`models/tied_chain.py`), so the particles share it: the
time axis, the frame states and the inference GRU run once per frame (`particle_inputs`), and
only the key axis runs once per particle. For each model at its configuration's sizes
(untrained: the cost does not depend on the weights), this prints

* the arithmetic per test frame, worked out from the layer sizes (2 x inputs x outputs of every
  LSTM product): the shared part, the per-particle part and what K particles make of them, and
  what the same K would cost if every particle ran the time axis too;
* measured on the `--pieces` longest MuseData test pieces (Boulanger splits): the seconds of
  `eval.py --bound=smc` and of the shared part alone, the particle-frames per second, and the
  whole test split's time at that rate;
* the process's peak memory.
"""

import time

from absl import flags

from srnn_tf import cli

from benchmarks import measure

_MODELS = flags.DEFINE_list('models', ['srnn_balstm', 'srnn_tp_lstm_nade'], 'Chain models.')
_PARTICLES = flags.DEFINE_integer('num_particles', 100, 'K.')
_PIECES = flags.DEFINE_integer('pieces', 2, 'Longest MuseData test pieces measured.')
_DATA_DIR = cli.data_dir_flag()


def lstm_flops(inputs, units):
  """Multiply-adds x 2 of one LSTM step for one row: input and recurrent products."""
  return 2 * (inputs + units) * 4 * units


def flops_per_frame(model, key_lstms: bool) -> dict:
  """`{'shared': ..., 'per_particle': ...}`: FLOPs of one frame's time axis (88 rows) and of
  one particle's key axis (the BALSTM's LSTMs if `key_lstms`, else the tied NADE's hidden
  layer), matmuls only."""
  keys, shared, width = model.num_keys, 0, model.note_features.size
  for units in model.time_units:
    shared += keys * lstm_flops(width, units)
    width = units
  if key_lstms:
    per_particle, width = 0, model.time_units[-1] + 1
    for units in model.key_units:
      per_particle += keys * lstm_flops(width, units)
      width = units
  else:   # the tied NADE: W g_n and A o_n into its hidden units, then its output
    nade = model.nade
    per_particle = keys * 2 * (nade.chosen.size + nade.context_units + 1) * (nade.units + 1)
  return {'shared': shared, 'per_particle': per_particle}


def main(argv):
  del argv
  cli.import_tensorflow_quietly(threads=(1, 2))
  import tensorflow as tf
  from srnn_tf import configs, trainer
  from srnn_tf.data import corpus as corpus_lib, pipeline
  from srnn_tf.models import BALSTM
  test = corpus_lib.load_corpus('muse', 'boulanger', _DATA_DIR.value).splits['test']
  pieces = sorted(test, key=len, reverse=True)[:_PIECES.value]
  frames, all_frames, k = sum(map(len, pieces)), sum(map(len, test)), _PARTICLES.value
  print(f'MuseData test split: {len(test)} pieces, {all_frames:,} frames; measured on the '
        f'{len(pieces)} longest ({frames:,} frames), K = {k}', flush=True)
  for name in _MODELS.value:
    model = trainer.build_model(configs.get_config(name, dataset='muse'), 1)
    work = flops_per_frame(model, isinstance(model, BALSTM))
    shared, per_particle = work['shared'], work['per_particle']
    print(f'{name}: per frame {shared / 1e6:,.0f} MFLOP shared (the time axis), '
          f'{per_particle / 1e6:,.1f} MFLOP per particle (the key axis): with K = {k}, '
          f'{(shared + k * per_particle) / 1e9:,.2f} GFLOP per frame, against '
          f'{k * (shared + per_particle) / 1e9:,.2f} if every particle ran the time axis '
          f'({(k * (shared + per_particle)) / (shared + k * per_particle):.1f}x)', flush=True)
    # The shared part alone, on the batches the SMC evaluation makes of the pieces.
    batches = pipeline.eval_batches(pieces, 16, None, max(1, 16_000 // k) * 100)
    shared_pass = tf.function(model.particle_inputs, reduce_retracing=True)
    for _, features in batches:
      shared_pass(features)   # warm-up: one trace per shape
    start = time.perf_counter()
    for _, features in batches:
      shared_pass(features)
    shared_seconds = time.perf_counter() - start
    rate = measure.eval_throughput(model, pieces, 'smc', k, repeats=1)
    whole = all_frames / rate['steps_per_sec']
    print(f'  SMC: {rate["seconds"]:.1f} s for {frames:,} frames '
          f'({rate["particle_steps_per_sec"]:,.0f} particle-frames/s), of which the shared '
          f'part {shared_seconds:.2f} s ({100 * shared_seconds / rate["seconds"]:.0f}%); the '
          f'whole test split at this rate: {whole / 3600:.1f} h', flush=True)
  print(f'peak memory of this process: {measure.peak_rss_mib():,.0f} MiB')


if __name__ == '__main__':
  cli.run(main)
