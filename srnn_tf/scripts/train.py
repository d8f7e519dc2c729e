"""Train a model on a polyphonic-music corpus under the SRNN paper's protocol.

    python train.py --dataset=piano --z_dim=100                 # paper protocol, Boulanger data
    python train.py --dataset=jsb --data_version=srnn2016       # the SRNN paper's data
    python train.py --config=small --dataset=jsb --epochs=1     # a tiny smoke run

Flags default to the `--config` preset (`paper`: SPEC §5); flags given explicitly override
it. Output goes to `--output_dir` (default `runs/<dataset>_<version>_<model>_z<z>_d<d>`):
checkpoints for resuming, TensorBoard logs, history.csv, model.keras, saved_model/, run.json.
Rerun the same command to resume an interrupted run; a different command into the same
folder is refused, naming the flags that differ (only a larger --epochs may train a run
further). With --results_dir, run.json and history.csv are also copied there (never over
another run's copies unless --overwrite_results). docs/guarantees.md says what a run folder
promises.
"""

import dataclasses
import os

from absl import flags
from absl import logging

from srnn_tf import cli
from srnn_tf import configs
from srnn_tf.data import registry

_DEFAULT = configs.Config()
_CONFIG = flags.DEFINE_enum('config', 'paper', list(configs.CONFIGS), 'Preset to start from.')
flags.DEFINE_string('dataset', _DEFAULT.dataset,
                    f'Corpus: one of {", ".join(registry.CORPORA)}, or a path to a pickle, '
                    'npz, or folder of MIDI files.')
flags.DEFINE_enum('data_version', _DEFAULT.data_version, registry.VERSIONS, 'Data version.')
flags.DEFINE_string('data_dir', None, 'Data directory / download cache (default: '
                    '$SRNN_TF_DATA_DIR, then the user cache dir).')
flags.DEFINE_integer('frames_per_quarter', _DEFAULT.frames_per_quarter,
                     'Frame grid when --dataset is a folder of MIDI files.')
flags.DEFINE_enum('model', _DEFAULT.model, ['rnn', 'vrnn', 'srnn'],
                  'Model: the SRNN, or the RNN / VRNN baselines (d_dim is their GRU size).')
flags.DEFINE_integer('z_dim', _DEFAULT.z_dim, 'Size of the stochastic state z.')
flags.DEFINE_integer('d_dim', _DEFAULT.d_dim, 'Size of the deterministic GRU state d.')
flags.DEFINE_integer('a_dim', _DEFAULT.a_dim, 'Size of the inference state a.')
flags.DEFINE_integer('hidden_units', _DEFAULT.hidden_units, 'Hidden units of every MLP.')
flags.DEFINE_list('embed_units', list(map(str, _DEFAULT.embed_units)),
                  'Layer sizes of the embedding MLP.')
flags.DEFINE_enum('inference', _DEFAULT.inference, ['smoothing', 'filtering'],
                  'Inference network: backward GRU (smoothing) or MLP (filtering).')
flags.DEFINE_bool('resq', _DEFAULT.resq, 'Posterior mean as a residual on the prior mean.')
flags.DEFINE_enum('gru_init', _DEFAULT.gru_init, ['orthogonal', 'orthogonal_per_gate'],
                  'GRU input/recurrent matrices: each gate\'s block orthogonal on its own (the '
                  'release\'s Lasagne GRUs), or orthogonal as stacked [D, 3H] matrices (the '
                  'initialisation the reproduction\'s runs in results/ were trained with).')
flags.DEFINE_enum('emission', _DEFAULT.emission, ['bernoulli', 'nade'],
                  'p(x_t | state): the 88 keys independent (the paper\'s), or a NADE over them '
                  'whose biases the state gives (RNN-NADE\'s, Boulanger-Lewandowski et al. 2012).')
flags.DEFINE_integer('nade_units', _DEFAULT.nade_units, 'Hidden units of the NADE emission.')
flags.DEFINE_float('dropout_d', _DEFAULT.dropout_d, 'SRNN: dropout on d_t where the prior, '
                   'emission and inference network read it (the release\'s p_d_drop).')
flags.DEFINE_float('dropout_z', _DEFAULT.dropout_z, 'SRNN: dropout on z_t into the emission '
                   '(p_z_drop).')
flags.DEFINE_float('dropout_emb_u', _DEFAULT.dropout_emb_u, 'SRNN: dropout on the embedding of '
                   'u_t (p_emb_u_drop).')
flags.DEFINE_float('dropout_emb_x', _DEFAULT.dropout_emb_x, 'SRNN: dropout on the embedding of '
                   'x_t into the inference network (p_emb_x_drop).')
flags.DEFINE_integer('epochs', _DEFAULT.epochs, 'Training epochs.')
flags.DEFINE_integer('batch_size', _DEFAULT.batch_size, 'Sequences per batch.')
flags.DEFINE_integer('seq_len', _DEFAULT.seq_len, 'Frames per training window.')
flags.DEFINE_bool('carry_state', _DEFAULT.carry_state,
                  'Carry d and z across consecutive windows (the release\'s stateful '
                  'training, no shuffling); false: shuffled independent windows.')
flags.DEFINE_enum('objective', _DEFAULT.objective, ['elbo', 'iwae', 'fivo'],
                  'Training objective: the annealed ELBO, or the IWAE / FIVO (SMC) bound with '
                  '--num_particles particles (needs --nocarry_state).')
flags.DEFINE_integer('num_particles', _DEFAULT.num_particles, 'K for --objective=iwae|fivo.')
flags.DEFINE_enum('train_precision', _DEFAULT.train_precision, ['float32', 'bfloat16'],
                  'Precision of the training step\'s products over all time steps: bfloat16 '
                  'is faster on CPUs with AVX512-BF16 (evaluation stays float32).')
flags.DEFINE_float('learning_rate', _DEFAULT.learning_rate, 'Adam learning rate.')
flags.DEFINE_float('adam_beta1', _DEFAULT.adam_beta1, 'Adam beta_1.')
flags.DEFINE_float('adam_beta2', _DEFAULT.adam_beta2, 'Adam beta_2.')
flags.DEFINE_float('adam_epsilon', _DEFAULT.adam_epsilon, 'Adam epsilon.')
flags.DEFINE_integer('lr_constant_epochs', _DEFAULT.lr_constant_epochs,
                     'Epochs at constant learning rate before the decay.')
flags.DEFINE_float('lr_decay', _DEFAULT.lr_decay, 'Learning rate divided by this per epoch '
                   'after --lr_constant_epochs.')
flags.DEFINE_float('kl_start', _DEFAULT.kl_start, 'Initial KL weight (temperature).')
flags.DEFINE_integer('kl_anneal_epochs', _DEFAULT.kl_anneal_epochs,
                     'Epochs over which the KL weight rises linearly to 1 (per batch).')
flags.DEFINE_float('clip_norm', _DEFAULT.clip_norm, 'Rescale gradients to this total norm.')
flags.DEFINE_float('clip_value', _DEFAULT.clip_value, 'Then clip each element to +-this.')
flags.DEFINE_integer('seed', _DEFAULT.seed, 'Random seed (weights, noise, data order).')
flags.DEFINE_integer('validation_freq', _DEFAULT.validation_freq, 'Validate every N epochs.')
flags.DEFINE_bool('keep_best', _DEFAULT.keep_best,
                  'Evaluate and save the weights of the epoch with the best validation ELBO, '
                  'not the last epoch\'s (for long schedules that over-fit, as JSB does).')
flags.DEFINE_integer('early_stopping_patience', _DEFAULT.early_stopping_patience,
                     'Stop once the validation ELBO has not improved for this many epochs '
                     '(0: never; the paper protocol runs all its epochs). Survives a resume; '
                     'pair it with --keep_best to keep the best epoch\'s weights.')
flags.DEFINE_bool('monitor_test', _DEFAULT.monitor_test,
                  'Also evaluate the test ELBO per step after every epoch and log it with the '
                  "epoch's wall time (history columns test_elbo, wall_seconds): time to quality.")
flags.DEFINE_integer('eval_samples', _DEFAULT.eval_samples,
                     'Posterior samples averaged in the final valid/test ELBO.')
flags.DEFINE_enum('strategy', _DEFAULT.strategy, ['default', 'mirrored', 'multi_worker'],
                  'tf.distribute strategy: one device, all local devices, or the workers of '
                  '$TF_CONFIG (see BUILD_NOTES.md). Needs --nocarry_state.')
flags.DEFINE_integer('intra_op_threads', _DEFAULT.intra_op_threads,
                     'TF intra-op threads (0: TF default).')
flags.DEFINE_integer('inter_op_threads', _DEFAULT.inter_op_threads,
                     'TF inter-op threads (0: TF default).')
_OUTPUT_DIR = flags.DEFINE_string('output_dir', None, 'Run directory (default: runs/<name>).')
_RESULTS_DIR = flags.DEFINE_string('results_dir', '', 'Also copy run.json and history.csv '
                                   'here, as <run name>.json|.history.csv ("": nowhere).')
_OVERWRITE = flags.DEFINE_bool('overwrite_results', False, 'Replace copies in --results_dir '
                               'that hold other results.')

FLAGS = flags.FLAGS


def config_from_flags() -> configs.Config:
  """The `--config` preset with every explicitly given flag applied on top."""
  overrides = {}
  for field in dataclasses.fields(configs.Config):
    if field.name in FLAGS and FLAGS[field.name].present:
      value = FLAGS[field.name].value
      if field.name == 'embed_units':
        try:
          value = tuple(int(v) for v in value)
        except ValueError:
          raise configs.UserError(f'--embed_units={",".join(value)}: not a list of integers') \
              from None
      overrides[field.name] = value
  return configs.get_config(_CONFIG.value, **overrides)


def main(argv):
  del argv
  config = config_from_flags()
  from srnn_tf import train_lib  # after flag parsing: imports TensorFlow
  workdir = _OUTPUT_DIR.value or os.path.join('runs', configs.run_name(config))
  logging.info('Run directory: %s', workdir)
  summary = train_lib.train_and_evaluate(config, workdir, _RESULTS_DIR.value or None,
                                         overwrite_results=_OVERWRITE.value)
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
