"""Reinforcement-learning tuning of a trained latent model (SRNN, VRNN, DMM, STORN) for music
(Jaques et al. 2016, polyphonic).

    python tune.py --run=runs/jsb_srnn2016_srnn_z100_d300 --beta=2

The model's generative model (its z, then x, steps) is the policy; REINFORCE with
reward-to-go and a running baseline maximises music-theory rewards (srnn_tf/rl/rewards.py,
weighted by the --w_* flags) minus `beta` times the KL to the pre-trained model (KL control).
Writes a run directory in the training format (model.keras, saved_model/, config.json,
run.json, history.csv, tensorboard/), so generate.py, eval.py and the export work on it;
checkpoints every --checkpoint_every iterations and resumes from the last one when rerun with
the same flags. At the end it compares the pre-trained and the tuned model (rewards, test
ELBO, sample statistics; tuning.md) and writes example MIDI files and piano rolls of both,
on the corpus's grid, under <output_dir>/examples/ (srnn_tf/rl/tuning_run.py).
"""

import os

from srnn_tf import cli
from srnn_tf.configs import TuneConfig

_RUN = cli.run_flag('The pre-trained run of a latent model (directory or .keras).')
_OUTPUT_DIR = cli.output_dir_flag('<run>_tuned_beta<beta>')
_RESULTS_DIR = cli.results_dir_flag('run.json, history.csv and tuning.md')
_DATA_DIR = cli.data_dir_flag()
# --beta, --iterations, ..., --w_<reward>: every TuneConfig field (srnn_tf/configs.py).
cli.define_config_flags(TuneConfig)


def main(argv):
  del argv
  config = TuneConfig(**cli.config_overrides(TuneConfig))
  run = _RUN.load(threads=(1, 2))   # each op on one core, as in training
  from srnn_tf.rl import tuning_run
  workdir = _OUTPUT_DIR.value or (os.path.normpath(run.output_path())
                                  + f'_tuned_beta{config.beta:g}')
  print(tuning_run.tune(config, run, workdir, _DATA_DIR.value, _RESULTS_DIR.value))
  return 0


def run():
  """The `srnn-tune` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
