"""Training throughput (time steps per second) of a model configuration.

    python -m benchmarks.throughput --model=srnn --config=paper [--steps=30] [--repeats=5]
    python -m benchmarks.throughput --objective=fivo --num_particles=4   # FIVO training

Times `train_step` on real JSB (srnn2016) batches after a warm-up, and prints the median of
`--repeats` measurements of `--steps` steps each, as time steps (batch x frames) per second.
"""

from absl import flags

from srnn_tf import cli

from benchmarks import measure
from srnn_tf import configs

_MODEL = flags.DEFINE_enum('model', 'srnn', list(configs.MODELS), 'Model.')
_CONFIG = flags.DEFINE_enum('config', 'paper', list(configs.CONFIGS), 'Size preset.')
_OBJECTIVE = flags.DEFINE_enum('objective', 'elbo', ['elbo', 'iwae', 'fivo'],
                               'Training objective (iwae and fivo train on independent windows).')
_PARTICLES = flags.DEFINE_integer('num_particles', 4, 'K for --objective=iwae|fivo.')
_STEPS = flags.DEFINE_integer('steps', 30, 'Steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Measurements; the median is reported.')
_INTRA = flags.DEFINE_integer('intra_op_threads', 1, 'TF intra-op threads (0: default).')
_INTER = flags.DEFINE_integer('inter_op_threads', 2, 'TF inter-op threads (0: default).')
_DATA_DIR = cli.data_dir_flag()


def main(argv):
  del argv
  from srnn_tf import threads
  threads.set_threads(_INTRA.value, _INTER.value)
  objective = measure.objective_overrides(_OBJECTIVE.value, _PARTICLES.value)
  model, batches = measure.model_and_batches(_MODEL.value, _CONFIG.value, _DATA_DIR.value,
                                             **objective)
  rate, rates = measure.train_throughput(model, batches, _STEPS.value, _REPEATS.value)
  name = _OBJECTIVE.value + (f' K={_PARTICLES.value}' if objective else '')
  print(f'{_MODEL.value} {_CONFIG.value} {name}: {rate:,.0f} time steps/s (median of '
        f'{", ".join(f"{r:,.0f}" for r in rates)}); threads intra {_INTRA.value} / '
        f'inter {_INTER.value}')


if __name__ == '__main__':
  cli.run(main)
