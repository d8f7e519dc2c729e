"""Named configurations. `paper` is the SRNN paper's protocol (SPEC §5); `release` is the
same with the learning-rate schedule of the release's `Settings_SRNN` defaults (lr 10^-2.5,
constant for 25 epochs, then divided by 1.3 per epoch); `small` is a tiny model for tests
and smoke runs. Scripts start from one and override fields with flags."""

import dataclasses
import os

from srnn_tf.errors import UserError

MODELS = ('rnn', 'vrnn', 'srnn')


@dataclasses.dataclass
class Config:
  """Everything a training run depends on."""
  # Data.
  dataset: str = 'jsb'
  data_version: str = 'boulanger'
  data_dir: str | None = None
  frames_per_quarter: int = 4     # grid for MIDI-folder corpora
  # Model.
  model: str = 'srnn'
  z_dim: int = 100
  d_dim: int = 300
  a_dim: int = 300
  hidden_units: int = 500
  embed_units: tuple[int, ...] = (500, 500)
  inference: str = 'smoothing'
  resq: bool = True
  gru_init: str = 'orthogonal_per_gate'   # the release's; or 'orthogonal' (stacked; layers.py)
  emission: str = 'bernoulli'     # or 'nade': the frame's keys jointly (layers.FrameDistribution)
  nade_units: int = 150
  dropout_d: float = 0.0          # SRNN dropout rates, the release's p_*_drop (models/srnn.py)
  dropout_z: float = 0.0
  dropout_emb_u: float = 0.0
  dropout_emb_x: float = 0.0
  # Protocol.
  epochs: int = 50
  batch_size: int = 16
  seq_len: int = 100
  carry_state: bool = True        # the release's stateful training; False: shuffled windows
  objective: str = 'elbo'         # or 'iwae' / 'fivo' with num_particles (needs no carry_state)
  num_particles: int = 1
  train_precision: str = 'float32'  # 'bfloat16': products over all steps (faster, see README)
  learning_rate: float = 1e-3
  adam_beta1: float = 0.9
  adam_beta2: float = 0.999
  adam_epsilon: float = 1e-4
  lr_constant_epochs: int = 20
  lr_decay: float = 1.2           # per epoch after lr_constant_epochs
  kl_start: float = 0.2
  kl_anneal_epochs: int = 20
  clip_norm: float = 1.0
  clip_value: float = 10.0
  # Running.
  seed: int = 0
  validation_freq: int = 1
  keep_best: bool = False         # final model = the epoch with the best validation ELBO
  early_stopping_patience: int = 0  # stop after this many epochs without a better val ELBO
  monitor_test: bool = False      # test ELBO in the history each epoch (time-to-quality runs)
  eval_samples: int = 1
  strategy: str = 'default'       # 'mirrored' (local devices) or 'multi_worker' (TF_CONFIG)
  intra_op_threads: int = 1       # 1/2 beat TF's defaults by 15-35% on 2 cores
  inter_op_threads: int = 2

  def validate(self) -> 'Config':
    """Raises `UserError` naming the flag of the first field out of its range."""
    positive = ('frames_per_quarter', 'z_dim', 'd_dim', 'a_dim', 'hidden_units', 'nade_units',
                'epochs', 'batch_size', 'seq_len', 'num_particles', 'validation_freq',
                'eval_samples')
    non_negative = ('lr_constant_epochs', 'kl_anneal_epochs', 'early_stopping_patience',
                    'intra_op_threads', 'inter_op_threads')
    for name in positive:
      if getattr(self, name) < 1:
        raise UserError(f'--{name}={getattr(self, name)}: must be at least 1')
    for name in non_negative:
      if getattr(self, name) < 0:
        raise UserError(f'--{name}={getattr(self, name)}: must not be negative')
    if not self.embed_units or min(self.embed_units) < 1:
      raise UserError(f'--embed_units={",".join(map(str, self.embed_units))}: needs one or '
                      'more positive layer sizes')
    for name in ('adam_epsilon', 'lr_decay'):
      if not getattr(self, name) > 0:
        raise UserError(f'--{name}={getattr(self, name)}: must be positive')
    for name in ('learning_rate', 'clip_norm', 'clip_value'):   # clip 0: no clipping
      if not getattr(self, name) >= 0:
        raise UserError(f'--{name}={getattr(self, name)}: must not be negative')
    for name in ('adam_beta1', 'adam_beta2'):
      if not 0 <= getattr(self, name) < 1:
        raise UserError(f'--{name}={getattr(self, name)}: must be in [0, 1)')
    if not 0 <= self.kl_start <= 1:
      raise UserError(f'--kl_start={self.kl_start}: must be in [0, 1]')
    for name in ('dropout_d', 'dropout_z', 'dropout_emb_u', 'dropout_emb_x'):
      if not 0 <= getattr(self, name) < 1:
        raise UserError(f'--{name}={getattr(self, name)}: must be in [0, 1)')
    if self.model not in MODELS:
      raise UserError(f'--model={self.model}: choose one of {", ".join(MODELS)}')
    if self.model != 'srnn' and any((self.dropout_d, self.dropout_z, self.dropout_emb_u,
                                     self.dropout_emb_x)):
      raise UserError(f'--dropout_*: options of the SRNN, not of --model={self.model}')
    if self.objective != 'elbo' and self.carry_state:
      raise UserError(f'--objective={self.objective}: needs --nocarry_state (each window\'s '
                      'particles start afresh)')
    return self


CONFIGS = {
    'paper': Config(),
    'release': Config(learning_rate=10 ** -2.5, lr_constant_epochs=25, lr_decay=1.3),
    'small': Config(z_dim=4, d_dim=16, a_dim=16, hidden_units=32, embed_units=(32, 32),
                    epochs=1, seq_len=50),
}


# The reproduction's grids (`experiments.sweep`) keep the GRU initialisation their finished
# cells were trained with, the stacked orthogonal matrices, so that every grid is one model
# throughout; the package's default became the release's per-gate initialisation later.
REPRODUCTION = {'gru_init': 'orthogonal'}

# Fields that run records (config.json, run JSONs) written before the field existed lack, with
# the value those runs used.
LEGACY = {'gru_init': 'orthogonal'}


def from_dict(fields: dict) -> Config:
  """The `Config` of a recorded run: unknown keys dropped, missing ones from `LEGACY`."""
  known = {k: v for k, v in {**LEGACY, **fields}.items() if k in Config.__dataclass_fields__}
  known['embed_units'] = tuple(known.get('embed_units', Config.embed_units))
  return Config(**known)


def get_config(name: str, **overrides) -> Config:
  if name not in CONFIGS:
    raise UserError(f'--config={name}: unknown; choose one of {", ".join(CONFIGS)}')
  return dataclasses.replace(CONFIGS[name], **overrides).validate()


def run_name(c: Config) -> str:
  """The default run directory name: `<dataset>_<version>_<model>[_variant]_z<z>_d<d>`."""
  name = os.path.splitext(os.path.basename(os.path.normpath(c.dataset)))[0]
  shared = (f'_{c.emission}{c.nade_units}' if c.emission != 'bernoulli' else '') + \
      ('_pergate' if c.gru_init != 'orthogonal' else '')      # options of every model
  if c.model == 'rnn':
    return f'{name}_{c.data_version}_rnn{shared}_d{c.d_dim}'
  variant = '' if c.model != 'srnn' or (c.inference, c.resq) == ('smoothing', True) else \
      f'_{c.inference}{"" if c.resq else "_noresq"}'
  variant += shared
  dropout = {'d': c.dropout_d, 'z': c.dropout_z, 'u': c.dropout_emb_u, 'x': c.dropout_emb_x}
  if any(dropout.values()):
    variant += '_drop' + ''.join(f'{k}{v:g}' for k, v in dropout.items() if v)
  if c.objective != 'elbo':
    variant += f'_{c.objective}{c.num_particles}'
  return f'{name}_{c.data_version}_{c.model}{variant}_z{c.z_dim}_d{c.d_dim}'
