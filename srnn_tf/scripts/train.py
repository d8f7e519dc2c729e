"""Train a model on a polyphonic-music corpus under the SRNN paper's protocol.

    python train.py --dataset=piano --z_dim=100                 # paper protocol, Boulanger data
    python train.py --dataset=jsb --data_version=srnn2016       # the SRNN paper's data
    python train.py --config=small --dataset=jsb --epochs=1     # a tiny smoke run

Flags default to the `--config` preset (`paper`: SPEC §5); flags given explicitly override
it. Output goes to `--output_dir` (default `runs/<dataset>_<version>_<model>_z<z>_d<d>`):
checkpoints for resuming, TensorBoard logs, history.csv, model.keras, saved_model/ (unless
--nosaved_model), run.json.
Rerun the same command to resume an interrupted run; a different command into the same
folder is refused, naming the flags that differ (only a larger --epochs may train a run
further). With --results_dir, run.json and history.csv are also copied there (never over
another run's copies unless --overwrite_results). docs/guarantees.md says what a run folder
promises.
"""

import os
import sys

from absl import flags
from absl import logging

from srnn_tf import cli
from srnn_tf import limits
from srnn_tf import configs
from srnn_tf import rundir
from srnn_tf.data import registry

_CONFIG = flags.DEFINE_enum('config', 'paper', list(configs.CONFIGS), 'Preset to start from.')
cli.define_config_flags(configs.Config)   # --dataset, --z_dim, ...: every Config field
_OUTPUT_DIR = cli.output_dir_flag('runs/<name>')
_RESULTS_DIR = cli.results_dir_flag('run.json and history.csv')
_OVERWRITE = cli.overwrite_results_flag()

FLAGS = flags.FLAGS


def config_from_flags() -> configs.Config:
  """The `--config` preset with every explicitly given flag applied on top."""
  return configs.get_config(_CONFIG.value, **cli.config_overrides(configs.Config))


def main(argv):
  del argv
  config = config_from_flags()
  workdir = _OUTPUT_DIR.value or os.path.join('runs', configs.run_name(config))
  # What a user can get wrong is answered before TensorFlow loads (seconds).
  registry.check_dataset(config.dataset)
  limits.batch_frames(config.batch_size, config.seq_len)
  rundir.check_run_folder(workdir)
  rundir.check_output_dir(workdir)
  cli.import_tensorflow_quietly(threads=(config.intra_op_threads, config.inter_op_threads))
  from srnn_tf import trainer
  logging.info('Run directory: %s', workdir)
  # A progress bar on a terminal; one line per epoch into a log file (a bar's redraws would
  # fill it).
  summary = trainer.train_and_evaluate(config, workdir, _RESULTS_DIR.value or None,
                                       verbose='auto' if sys.stdout.isatty() else 2,
                                       overwrite_results=_OVERWRITE.value)
  if 'test' not in summary:   # --noevaluate_test: a search's candidate
    valid = summary['valid']
    print(f'valid ELBO per step: {valid["elbo_per_step"]:.4f} (per-sequence mean), '
          f'{valid["elbo_total_per_step"]:.4f} (every time step weighted equally); the test '
          f'split was not evaluated (--noevaluate_test). Run: {workdir}')
    return 0
  test = summary['test']
  release = summary.get('test_release_first_frame')
  print(f'test ELBO per step: {test["elbo_per_step"]:.4f} (per-sequence mean, the SRNN '
        f'paper\'s convention), {test["elbo_total_per_step"]:.4f} (every time step weighted '
        f'equally, Boulanger\'s)'
        + (f'; from the release\'s first input frames: {release["elbo_per_step"]:.4f}'
           if release else '') + f'. Run: {workdir}')
  return 0


def run():
  """The `srnn-train` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
