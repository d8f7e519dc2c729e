"""Named configurations. `paper` is the SRNN paper's protocol (SPEC §5); `release` is the
same with the learning-rate schedule of the release's `Settings_SRNN` defaults (lr 10^-2.5,
constant for 25 epochs, then divided by 1.3 per epoch); `small` is a tiny model for tests
and smoke runs. Scripts start from one and override fields with flags."""

import dataclasses
import json
import numbers
import os

from srnn_tf.errors import UserError

MODELS = ('rnn', 'vrnn', 'srnn', 'tp_lstm_nade', 'balstm', 'dmm', 'storn', 'srnn_tp_lstm_nade',
          'srnn_balstm')
# Johnson 2017's tied-parallel models: per-key networks, exact likelihood, no GRU; and the
# same with the SRNN's frame-level z chain (`models/tied_chain.py`).
TIED_MODELS = ('tp_lstm_nade', 'balstm', 'srnn_tp_lstm_nade', 'srnn_balstm')
LATENT_MODELS = ('vrnn', 'srnn', 'dmm', 'storn', 'srnn_tp_lstm_nade', 'srnn_balstm')
# The named corpora and their data versions (`data.registry` has their files). Here, not in
# the data package: configs is imported by every entry point before its flags are parsed.
CORPORA = ('jsb', 'muse', 'nottingham', 'piano')
VERSIONS = ('boulanger', 'srnn2016')
# The order long work goes in: the smallest training set first, so that answers come early.
SMALLEST_FIRST = ('jsb', 'piano', 'nottingham', 'muse')


def _option(default, help_: str, choices: tuple | None = None):
  """A `Config` field and its command-line flag: `cli.define_config_flags` makes the flag
  (`--name`, this help, these choices) from it, so every option is written once."""
  return dataclasses.field(default=default, metadata={'help': help_, 'choices': choices})


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything a training run depends on; each field is also a train.py flag.

  Valid by construction (`__post_init__` checks it) and immutable, so whoever holds
  one need not check it again; `dataclasses.replace` makes a changed copy, checked too.
  """
  # Data.
  dataset: str = _option('jsb', f'Corpus: one of {", ".join(CORPORA)}, or a path to a pickle, '
                         'npz, or folder of MIDI files.')
  data_version: str = _option('boulanger', 'Data version.', VERSIONS)
  data_dir: str | None = _option(None, 'Data directory / download cache (default: '
                                 '$SRNN_TF_DATA_DIR, then the user cache dir).')
  frames_per_quarter: int = _option(4, 'Frame grid when --dataset is a folder of MIDI files '
                                    '(the named corpora have their own; srnn_tf.data.grid).')
  # Model.
  model: str = _option('srnn', 'Model: the SRNN, the RNN / VRNN baselines (d_dim is their '
                       'GRU size), or Johnson 2017\'s tied-parallel TP-LSTM-NADE and bi-axial '
                       'LSTM (--config=tp_lstm_nade / balstm: his training), or Krishnan et '
                       'al. 2017\'s Deep Markov Model, or Bayer & Osendorfer 2014\'s STORN.',
                       MODELS)
  z_dim: int = _option(100, 'Size of the stochastic state z.')
  d_dim: int = _option(300, 'Size of the deterministic GRU state d.')
  a_dim: int = _option(300, 'Size of the inference state a.')
  hidden_units: int = _option(500, 'Hidden units of every MLP.')
  embed_units: tuple[int, ...] = _option((500, 500), 'Layer sizes of the embedding MLP.')
  inference: str = _option('smoothing', 'Inference network: backward GRU (smoothing) or MLP '
                           '(filtering).', ('smoothing', 'filtering'))
  resq: bool = _option(True, 'Posterior mean as a residual on the prior mean.')
  gru_init: str = _option(
      'orthogonal', 'GRU input/recurrent matrices: orthogonal as stacked [D, 3H] and [H, 3H] '
      'matrices (ahead on validation in 6 of the 8 corpus/version pairs), or each gate\'s '
      'block orthogonal on its own (the release\'s Lasagne GRUs).',
      ('orthogonal', 'orthogonal_per_gate'))
  emission: str = _option(
      'bernoulli', 'p(x_t | state): the 88 keys independent (the paper\'s), or a NADE over them '
      'whose biases the state gives (RNN-NADE\'s, Boulanger-Lewandowski et al. 2012; '
      'layers.FrameDistribution).', ('bernoulli', 'nade'))
  nade_units: int = _option(150, 'Hidden units of the NADE emission (and of the '
                            'TP-LSTM-NADE\'s tied NADE).')
  time_units: tuple[int, ...] = _option((200, 200), 'Tied models: sizes of the time-axis LSTM '
                                        'layers (one instance per key, weights tied).')
  key_units: tuple[int, ...] = _option((100, 100), 'BALSTM: sizes of the key-axis LSTM layers.')
  dmm_augmented: bool = _option(False, 'DMM: DMM-Aug., the previous frame feeds the transition '
                                'and the emission (Krishnan et al. 2017).')
  key_position: bool = _option(True, 'Tied models: each key\'s inputs include its MIDI number '
                               '(without it the model is transposition equivariant).')
  nade_pretrain_steps: int = _option(
      0, 'Before training, fit an unconditional NADE to the training frames for this many '
      'Adam steps and start the NADE emission from it (its W, V, and the biases as the '
      'emission\'s output biases): RNN-NADE\'s pre-training. 0: none.')
  dropout_d: float = _option(0.0, 'Dropout on d_t (the VRNN\'s h_{t-1}) where the prior, '
                             'emission and inference network read it (the release\'s '
                             'p_d_drop).')
  dropout_z: float = _option(0.0, 'SRNN: dropout on z_t into the emission (p_z_drop).')
  dropout_emb_u: float = _option(0.0, 'Dropout on the embedding of u_t (the VRNN\'s of x_t) '
                                 'into the recurrence (p_emb_u_drop).')
  dropout_emb_x: float = _option(0.0, 'SRNN: dropout on the embedding of x_t into the '
                                 'inference network (p_emb_x_drop).')
  dropout_lstm: float = _option(0.0, 'Tied models: dropout on every LSTM layer\'s output '
                                '(Johnson: 0.5).')
  # Protocol.
  epochs: int = _option(50, 'Training epochs.')
  batch_size: int = _option(16, 'Sequences per batch.')
  seq_len: int = _option(100, 'Frames per training window.')
  carry_state: bool = _option(True, 'Carry d and z across consecutive windows (the release\'s '
                              'stateful training, no shuffling); false: shuffled independent '
                              'windows.')
  objective: str = _option('elbo', 'Training objective: the annealed ELBO, or the IWAE / FIVO '
                           '(SMC) bound with --num_particles particles (needs --nocarry_state).',
                           ('elbo', 'iwae', 'fivo'))
  num_particles: int = _option(1, 'K for --objective=iwae|fivo.')
  transpose_augment: int = _option(
      0, 'Shift each training window by a random number of semitones in [-K, K] (the same for '
      'its every frame, drawn from the seed; keys shifted off the keyboard dropped). 0: none.')
  train_precision: str = _option(
      'float32', 'Precision of the training step\'s products over all time steps: bfloat16 is '
      'faster on CPUs with AVX512-BF16 (evaluation stays float32).', ('float32', 'bfloat16'))
  learning_rate: float = _option(1e-3, 'Adam learning rate.')
  adam_beta1: float = _option(0.9, 'Adam beta_1.')
  adam_beta2: float = _option(0.999, 'Adam beta_2.')
  adam_epsilon: float = _option(1e-4, 'Adam epsilon.')
  lr_constant_epochs: int = _option(20, 'Epochs at constant learning rate before the decay.')
  lr_decay: float = _option(1.2, 'Learning rate divided by this per epoch after '
                            '--lr_constant_epochs.')
  free_bits: float = _option(
      0.0, 'Free bits (Kingma et al. 2016), per frame: in training, a frame\'s KL below this '
      'many nats costs this many, against posterior collapse (the reported ELBO is the true '
      'one). 0: off; --objective=elbo only.')
  aux_weight: float = _option(
      0.0, 'Weight of an auxiliary training cost against posterior collapse (z-forcing-like, '
      'Goyal et al. 2017): a linear head predicts from z_t how often each pitch class sounds '
      'in the next --aux_frames frames. 0: off; --objective=elbo only; not in the reported '
      'ELBO.')
  aux_frames: int = _option(4, 'Following frames the --aux_weight cost\'s target covers.')
  kl_start: float = _option(0.2, 'Initial KL weight (temperature).')
  kl_anneal_epochs: int = _option(20, 'Epochs over which the KL weight rises linearly to 1 '
                                  '(per batch).')
  clip_norm: float = _option(1.0, 'Rescale gradients to this total norm (0: no clipping).')
  clip_value: float = _option(10.0, 'Then clip each element to +-this (0: no clipping).')
  # Running.
  seed: int = _option(0, 'Random seed (weights, noise, data order).')
  validation_freq: int = _option(1, 'Validate every N epochs.')
  keep_best: bool = _option(False, 'Evaluate and save the weights of the epoch with the best '
                            'validation ELBO, not the last epoch\'s (for long schedules that '
                            'over-fit, as JSB does).')
  early_stopping_patience: int = _option(
      0, 'Stop once the validation ELBO has not improved for this many epochs (0: never; the '
      'paper protocol runs all its epochs). Survives a resume; pair it with --keep_best to keep '
      'the best epoch\'s weights.')
  monitor_test: bool = _option(False, 'Also evaluate the test ELBO per step after every epoch '
                               'and log it with the epoch\'s wall time (history columns '
                               'test_elbo, wall_seconds): time to quality.')
  eval_samples: int = _option(1, 'Posterior samples averaged in the final valid/test ELBO.')
  evaluate_test: bool = _option(
      True, 'Evaluate the test split when training ends. A search\'s candidates do not: the '
      'test set is evaluated once, for the candidate the validation set chooses '
      '(experiments.evaluate_bounds).')
  saved_model: bool = _option(True, 'Write the serving SavedModel (<run>/saved_model) at the '
                              'end; without it, `python -m srnn_tf.export --run=<run>` writes it '
                              'later (it takes seconds of tracing per run).')
  media_every: int = _option(5, 'Every N epochs, a sample\'s and a validation '
                             'reconstruction\'s piano rolls (and audio, with fluidsynth) in '
                             'TensorBoard (0: none).')
  strategy: str = _option('default', 'tf.distribute strategy: one device, all local devices, '
                          'or the workers of $TF_CONFIG (see BUILD_NOTES.md). Needs '
                          '--nocarry_state.', ('default', 'mirrored', 'multi_worker'))
  intra_op_threads: int = _option(1, 'TF intra-op threads (0: TF default; 1/2 beat TF\'s '
                                  'defaults by 15-35% on 2 cores).')
  inter_op_threads: int = _option(2, 'TF inter-op threads (0: TF default).')

  def __post_init__(self):
    """Raises `UserError` naming the flag of the first field out of its range."""
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      problem = range_problem(field.name, value) or _choice_problem(field, value)
      if problem:
        raise UserError(f'--{field.name}={_shown(value)}: {problem}')
    for name in ('dropout_d', 'dropout_z', 'dropout_emb_u', 'dropout_emb_x', 'dropout_lstm'):
      if getattr(self, name) and name not in DROPOUT_OPTIONS.get(self.model, ()):
        raise UserError(f'--{name}: not an option of --model={self.model}')
    if self.model in TIED_MODELS and self.emission != 'bernoulli':
      raise UserError(f'--emission={self.emission}: --model={self.model} models the keys of a '
                      'frame with its own key axis')
    if self.dmm_augmented and self.model != 'dmm':
      raise UserError(f'--dmm_augmented: not an option of --model={self.model}')
    if self.nade_pretrain_steps and self.emission != 'nade':
      raise UserError(f'--nade_pretrain_steps={self.nade_pretrain_steps}: needs '
                      '--emission=nade')
    for name in ('free_bits', 'aux_weight'):
      if getattr(self, name) and self.objective != 'elbo':
        raise UserError(f'--{name}={getattr(self, name)}: applies to --objective=elbo only')
      if getattr(self, name) and self.model not in LATENT_MODELS:
        raise UserError(f'--{name}: --model={self.model} has no latent variables')
    if self.objective != 'elbo' and self.carry_state:
      raise UserError(f'--objective={self.objective}: needs --nocarry_state (each window\'s '
                      'particles start afresh)')


# The range of each numeric field on its own, as (holds, what it must be): for the flags
# (`Config.__post_init__`) and for the models' constructor arguments of the same names
# (`models.base`), so that a range is written once.
_AT_LEAST_1 = (lambda v: v >= 1, 'must be at least 1')
_NOT_NEGATIVE = (lambda v: v >= 0, 'must not be negative')
_POSITIVE = (lambda v: v > 0, 'must be positive')
_FRACTION = (lambda v: 0 <= v < 1, 'must be in [0, 1)')
_LAYER_SIZES = (lambda v: len(v) > 0 and min(v) >= 1, 'needs one or more positive layer sizes')
RANGES = {
    **dict.fromkeys(('frames_per_quarter', 'z_dim', 'd_dim', 'a_dim', 'hidden_units',
                     'nade_units', 'epochs', 'batch_size', 'seq_len', 'num_particles',
                     'validation_freq', 'eval_samples', 'aux_frames'), _AT_LEAST_1),
    **dict.fromkeys(('lr_constant_epochs', 'kl_anneal_epochs', 'early_stopping_patience',
                     'media_every', 'nade_pretrain_steps', 'transpose_augment',
                     'intra_op_threads', 'inter_op_threads',
                     'learning_rate', 'clip_norm', 'clip_value', 'free_bits',   # clip 0: none
                     'aux_weight'),
                    _NOT_NEGATIVE),
    **dict.fromkeys(('embed_units', 'time_units', 'key_units'), _LAYER_SIZES),
    **dict.fromkeys(('adam_epsilon', 'lr_decay'), _POSITIVE),
    **dict.fromkeys(('adam_beta1', 'adam_beta2', 'dropout_d', 'dropout_z', 'dropout_emb_u',
                     'dropout_emb_x', 'dropout_lstm'), _FRACTION),
    'kl_start': (lambda v: 0 <= v <= 1, 'must be in [0, 1]'),
}


def range_problem(name: str, value) -> str | None:
  """What is wrong with `value` as field `name` on its own (`RANGES`), or None. NaN is out
  of every range."""
  rule = RANGES.get(name)
  return None if rule is None or rule[0](value) else rule[1]


def value_problem(name: str, value) -> str | None:
  """What is wrong with `value` as the field `name`: its type, range or choice; None if
  nothing is, or if `name` is no field. The models check their constructor arguments with it."""
  field = Config.__dataclass_fields__.get(name)
  if field is None:
    return None
  if not _is_kind(field.default, value):
    return f'must be {_KINDS[type(field.default)]}'
  return range_problem(name, value) or _choice_problem(field, value)


def _choice_problem(field, value):
  choices = field.metadata.get('choices')
  return f'choose one of {", ".join(choices)}' if choices and value not in choices else None


def _shown(value):
  return ','.join(map(str, value)) if isinstance(value, tuple) else value


# The dropout rates each model has (the RNN's d_t and e(u_t) are the SRNN's; the VRNN's
# h_{t-1} and phi_x(x_t) play their parts).
DROPOUT_OPTIONS = {'srnn': ('dropout_d', 'dropout_z', 'dropout_emb_u', 'dropout_emb_x'),
                   'rnn': ('dropout_d', 'dropout_emb_u'), 'vrnn': ('dropout_d', 'dropout_emb_u'),
                   'tp_lstm_nade': ('dropout_lstm',), 'balstm': ('dropout_lstm',), 'dmm': (),
                   'srnn_tp_lstm_nade': ('dropout_lstm',), 'srnn_balstm': ('dropout_lstm',),
                   'storn': ()}


@dataclasses.dataclass(frozen=True)
class TuneConfig:
  """The RL tuning's settings (srnn_tf/rl/tuning.py); each field is also a tune.py flag.
  Valid by construction, as `Config`."""
  beta: float = _option(2.0, 'KL-control weight (reward nats per nat of KL).')
  iterations: int = _option(150, 'Policy-gradient iterations.')
  batch_size: int = _option(32, 'Pieces sampled per iteration.')
  num_steps: int = _option(64, 'Frames per sampled piece.')
  learning_rate: float = _option(3e-5, 'Adam learning rate.')
  clip_norm: float = _option(1.0, 'Rescale policy gradients to this total norm.')
  baseline_decay: float = _option(0.9, 'Decay of the running per-step baseline b_t.')
  max_repeat: int = _option(8, 'Frames a frame may repeat unpenalised.')
  seed: int = _option(0, 'Sampling seed.')
  checkpoint_every: int = _option(25, 'Iterations between checkpoints.')
  eval_pieces: int = _option(200, 'Samples per model in the final comparison.')
  saved_model: bool = _option(True, 'Write the tuned model\'s serving SavedModel '
                              '(<output_dir>/saved_model) at the end; without it, '
                              '`python -m srnn_tf.export --run=<output_dir>` writes it later.')
  # The weights of the reward terms (rl/rewards.py: REWARDS).
  w_in_key: float = _option(1.0, 'Weight of the in_key reward.')
  w_consonance: float = _option(1.0, 'Weight of the consonance reward.')
  w_repetition: float = _option(1.0, 'Weight of the repetition reward.')
  w_polyphony: float = _option(1.0, 'Weight of the polyphony reward.')
  w_parallel_motion: float = _option(1.0, 'Weight of the parallel_motion reward.')

  @property
  def weights(self) -> dict[str, float]:
    """{reward name: weight}, from the `w_<name>` fields (tests/test_rl.py checks that they
    are the rewards of `rl.rewards.REWARDS`)."""
    return {f.name[2:]: getattr(self, f.name) for f in dataclasses.fields(self)
            if f.name.startswith('w_')}

  def __post_init__(self):
    """Raises `UserError` naming the flag of the first field out of its range."""
    for name in ('iterations', 'batch_size', 'num_steps', 'max_repeat', 'checkpoint_every',
                 'eval_pieces'):
      if getattr(self, name) < 1:
        raise UserError(f'--{name}={getattr(self, name)}: must be at least 1')
    for name in ('beta', 'learning_rate', 'clip_norm'):
      if getattr(self, name) < 0:
        raise UserError(f'--{name}={getattr(self, name)}: must not be negative')
    if not 0 <= self.baseline_decay < 1:
      raise UserError(f'--baseline_decay={self.baseline_decay}: must be in [0, 1)')


# The validation searches' epoch cap (the NADE comparison's and the family's): at a held
# learning rate, the best validation epoch kept, stopped 15 epochs after it.
SEARCH_EPOCHS = 200


CONFIGS = {
    'paper': Config(),
    'release': Config(learning_rate=10 ** -2.5, lr_constant_epochs=25, lr_decay=1.3),
    'small': Config(z_dim=4, d_dim=16, a_dim=16, hidden_units=32, embed_units=(32, 32),
                    time_units=(8, 8), key_units=(6,), epochs=1, seq_len=50),
}
# Johnson 2017's two tied models with his sizes and dropout, trained as the NADE comparison's
# models are (Adam at a held learning rate, the best validation epoch kept, stopped 15 epochs
# after it, at most 200), on batches of 4 windows: a step of 4 x 100 frames takes a quarter of
# one of 16 (the time axis's rows, 4 x 88, still fill the matmuls: 124 against 101 time
# steps/s for the BALSTM on one core), so an epoch makes 4 times the updates (JSB's 13,807
# training frames are 9 steps of 16 windows).
_JOHNSON_TRAINING = dict(dropout_lstm=0.5, epochs=SEARCH_EPOCHS, lr_constant_epochs=SEARCH_EPOCHS,
                         keep_best=True, early_stopping_patience=15, batch_size=4)
CONFIGS['balstm'] = Config(model='balstm', **_JOHNSON_TRAINING)
CONFIGS['tp_lstm_nade'] = Config(model='tp_lstm_nade', nade_units=100, **_JOHNSON_TRAINING)
# The same two with the SRNN's frame-level z chain (models/tied_chain.py), trained alike (the
# KL weight annealed as the paper's, from 0.2 over 20 epochs): the chain's MLPs, embedding and
# inference GRU at the time axis's 200 units rather than the paper SRNN's 500 and 300, so that
# the chain adds about as many weights as the tied model has.
_TIED_CHAIN = dict(z_dim=100, a_dim=200, hidden_units=200, embed_units=(200,))
CONFIGS['srnn_balstm'] = Config(model='srnn_balstm', **_TIED_CHAIN, **_JOHNSON_TRAINING)
CONFIGS['srnn_tp_lstm_nade'] = Config(model='srnn_tp_lstm_nade', nade_units=100, **_TIED_CHAIN,
                                      **_JOHNSON_TRAINING)
# The rest of the family, trained as the NADE comparison's models: the DMM-Aug. at Krishnan et
# al.'s sizes (z 100, inference RNN 600, transition MLPs 200), and STORN at the paper SRNN's.
_NADE_COMPARISON = dict(epochs=SEARCH_EPOCHS, lr_constant_epochs=SEARCH_EPOCHS, keep_best=True,
                        early_stopping_patience=15)
CONFIGS['dmm'] = Config(model='dmm', dmm_augmented=True, a_dim=600, hidden_units=200,
                        **_NADE_COMPARISON)
CONFIGS['storn'] = Config(model='storn', **_NADE_COMPARISON)


# Options whose default changed after runs were recorded, with the value before: the GRU
# initialisation (the stacked orthogonal matrices, the default again since; the release's
# per-gate one was the default in between, and the runs of that time record it). A record
# written before the field existed (config.json, run JSONs) ran with it, and the
# reproduction's grids (`experiments.sweep`) name it, so that every grid is one model
# throughout.
PREVIOUS_DEFAULTS = {'gru_init': 'orthogonal'}


# What a recorded config must name: without them it would be read as another run's (the
# defaults' corpus or model). Every other field defaults to what runs recorded before it did.
RECORDED = ('dataset', 'data_version', 'model')


def from_dict(fields: dict, source: str = 'config') -> Config:
  """The `Config` of a recorded run: unknown keys dropped, missing ones from
  `PREVIOUS_DEFAULTS` or the defaults (fields added later, off by default), each value checked
  against its field's type and the whole checked.

  Raises:
    UserError: naming `source` (the file) and the first field missing, of the wrong type or
      out of its range.
  """
  missing = [k for k in RECORDED if k not in fields]
  if missing:
    raise UserError(f'{source}: names no {", ".join(missing)}: cannot tell which run it is')
  known = {k: v for k, v in {**PREVIOUS_DEFAULTS, **fields}.items()
           if k in Config.__dataclass_fields__}
  for field in dataclasses.fields(Config):
    if field.name in known:
      known[field.name] = _typed(field, known[field.name], source)
  try:
    return Config(**known)
  except UserError as e:
    raise UserError(f'{source}: {e}') from None


def _typed(field, value, source):
  """`value` as `field`'s type (JSON's lists as tuples), or `UserError`."""
  if not _is_kind(field.default, value):
    raise UserError(f'{source}: "{field.name}" is {json.dumps(value)}, not '
                    f'{_KINDS[type(field.default)]}')
  if isinstance(field.default, tuple):
    return tuple(value)
  return float(value) if isinstance(field.default, float) else value


_KINDS = {tuple: 'a list of integers', bool: 'true or false', int: 'an integer',
          float: 'a number', str: 'a string', type(None): 'a string or null'}


def _is_kind(default, value) -> bool:
  """Whether `value` is of the kind of the field whose default is `default` (numpy's
  numbers count; booleans are not numbers)."""
  integer = lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)
  if isinstance(default, tuple):
    return isinstance(value, (list, tuple)) and all(integer(v) for v in value)
  if isinstance(default, bool):
    return isinstance(value, bool)
  if isinstance(default, int):
    return integer(value)
  if isinstance(default, float):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
  return isinstance(value, str) or (value is None and default is None)


def get_config(name: str, **overrides) -> Config:
  if name not in CONFIGS:
    raise UserError(f'--config={name}: unknown; choose one of {", ".join(CONFIGS)}')
  return dataclasses.replace(CONFIGS[name], **overrides)


def run_name(c: Config) -> str:
  """The default run directory name:
  `<dataset>_<version>_<model>[_variant]_z<z>_d<d>[_keepbest][_seed<k>]` (the DMM's
  `..._dmm[_aug][_variant]_h<hidden>_z<z>_a<a>...`: it has no d), the variant
  naming the model options that differ from the paper's: inference, Resq, emission and its
  pre-training (`_pre<steps>`), GRU initialisation, MLP sizes (`_h150_e150`: MLPs of 150
  units), the SRNN's inference GRU size (`_a150`, where it is not 300), dropout, objective,
  `_nocarry` for an ELBO run on shuffled independent windows (the like-for-like control
  of an IWAE or FIVO run, which always trains so), and `_tr<K>` with transposition
  augmentation, `_fb<nats>` with free bits, `_aux<weight>` with the auxiliary cost; `_ep<N>`
  after `_keepbest` for a run held at its learning rate to N epochs
  rather than the searches' 200; `_seed<k>` last, for a replicate at a seed other than 0."""
  name = os.path.splitext(os.path.basename(os.path.normpath(c.dataset)))[0]
  if c.model in TIED_MODELS:
    return f'{name}_{c.data_version}_{c.model}{_tied_variant(c)}'
  variant = '' if c.model != 'srnn' or (c.inference, c.resq) == ('smoothing', True) else \
      f'_{c.inference}{"" if c.resq else "_noresq"}'
  variant += (f'_{c.emission}{c.nade_units}' if c.emission != 'bernoulli' else '') + \
      (f'_pre{c.nade_pretrain_steps}' if c.nade_pretrain_steps else '') + \
      ('_pergate' if c.gru_init != 'orthogonal' else '')      # options of every model
  if c.model == 'dmm':           # no embedding MLP; its sizes are z, a and the MLPs'
    variant = ('_aug' if c.dmm_augmented else '') + variant + f'_h{c.hidden_units}'
  elif (c.hidden_units, c.embed_units) != (Config.hidden_units, Config.embed_units):
    variant += f'_h{c.hidden_units}_e{"x".join(map(str, c.embed_units))}'   # MLP sizes
  if c.model in ('srnn', 'storn') and c.a_dim != Config.a_dim:
    variant += f'_a{c.a_dim}'                                  # the inference GRU's size
  dropout = {'d': c.dropout_d, 'z': c.dropout_z, 'u': c.dropout_emb_u, 'x': c.dropout_emb_x}
  if any(dropout.values()):
    variant += '_drop' + ''.join(f'{k}{v:g}' for k, v in dropout.items() if v)
  if c.objective != 'elbo':
    variant += f'_{c.objective}{c.num_particles}'
  elif not c.carry_state:
    variant += '_nocarry'
  variant += f'_tr{c.transpose_augment}' if c.transpose_augment else ''
  variant += f'_fb{c.free_bits:g}' if c.free_bits else ''
  variant += _aux(c)
  kept = ('_keepbest' if c.keep_best else '') + _longer(c) + (f'_seed{c.seed}' if c.seed else '')
  if c.model == 'rnn':
    return f'{name}_{c.data_version}_rnn{variant}_d{c.d_dim}{kept}'
  if c.model == 'dmm':
    return f'{name}_{c.data_version}_dmm{variant}_z{c.z_dim}_a{c.a_dim}{kept}'
  return f'{name}_{c.data_version}_{c.model}{variant}_z{c.z_dim}_d{c.d_dim}{kept}'


def _aux(c: Config) -> str:
  """`_aux<weight>` (and `f<frames>` where not 4) for a run with the auxiliary cost."""
  if not c.aux_weight:
    return ''
  return f'_aux{c.aux_weight:g}' + (f'f{c.aux_frames}' if c.aux_frames != 4 else '')


def _longer(c: Config) -> str:
  """`_ep<epochs>` for a run that holds its learning rate to a cap other than the searches'
  (a chosen candidate trained on to a longer one): `run_name`'s part after `_keepbest`."""
  held = c.lr_constant_epochs >= c.epochs
  return f'_ep{c.epochs}' if held and c.keep_best and c.epochs != SEARCH_EPOCHS else ''


def _tied_variant(c: Config) -> str:
  """The tied models' part of `run_name`: `_t<time sizes>`, then the BALSTM's `_k<key sizes>`
  or the TP-LSTM-NADE's `_nade<units>`, `_nopos` without the key's position, dropout,
  objective or `_nocarry`, `_keepbest`, `_ep<N>`, `_seed<k>`."""
  sizes = lambda units: 'x'.join(map(str, units))
  variant = f'_t{sizes(c.time_units)}' + (
      f'_k{sizes(c.key_units)}' if c.model.endswith('balstm') else f'_nade{c.nade_units}')
  if c.model.startswith('srnn_'):    # the chain's sizes, where they are not the paper SRNN's
    variant += f'_z{c.z_dim}' + (f'_a{c.a_dim}' if c.a_dim != Config.a_dim else '') + (
        f'_h{c.hidden_units}_e{sizes(c.embed_units)}'
        if (c.hidden_units, c.embed_units) != (Config.hidden_units, Config.embed_units) else '')
    variant += '' if c.resq else '_noresq'
  variant += '' if c.key_position else '_nopos'
  variant += f'_dropl{c.dropout_lstm:g}' if c.dropout_lstm else ''
  if c.objective != 'elbo':
    variant += f'_{c.objective}{c.num_particles}'
  elif not c.carry_state:
    variant += '_nocarry'
  variant += f'_tr{c.transpose_augment}' if c.transpose_augment else ''
  variant += f'_fb{c.free_bits:g}' if c.free_bits else ''
  variant += _aux(c)
  return (variant + ('_keepbest' if c.keep_best else '') + _longer(c) +
          (f'_seed{c.seed}' if c.seed else ''))
