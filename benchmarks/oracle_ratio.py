"""The package's SRNN training step against the straightforward per-time-step oracle of the
tests (`srnn_tf/testing/oracle.py`), side by side in one run, same weights and batches.

    python -m benchmarks.oracle_ratio [--config=paper] [--steps=10] [--repeats=5]

Both compute the same loss (the oracle is checked against the model to 1e-4 in the tests)
and take an Adam step with the same clipping; the oracle runs its recurrences as Python loops
inside one tf.function (a graph unrolled over the 100 frames of a window).
"""

from absl import flags

from srnn_tf import cli

from benchmarks import measure
from srnn_tf import configs

_CONFIG = flags.DEFINE_enum('config', 'paper', list(configs.CONFIGS), 'Size preset.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Alternating measurements of each.')
_DATA_DIR = cli.data_dir_flag()


def main(argv):
  del argv
  from srnn_tf import threads
  threads.set_threads(1, 2)
  r = measure.oracle_ratio(_CONFIG.value, _STEPS.value, _REPEATS.value, _DATA_DIR.value)
  print(f'SRNN {_CONFIG.value}: package {r["package"]:,.0f} time steps/s, per-step oracle '
        f'{r["oracle"]:,.0f} time steps/s, ratio {r["ratio"]:.2f}x '
        f'(medians of {r["repeats"]} alternating measurements of {r["steps"]} steps)')


if __name__ == '__main__':
  cli.run(main)
