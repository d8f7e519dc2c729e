"""The tiny models the tests build: a few units per layer, so that each test runs in seconds
and its numbers stay small enough to compare exactly."""

from srnn_tf.models import (BALSTM, DMM, RNN, SRNN, SRNNBALSTM, SRNNTPLSTMNADE, STORN,
                            TPLSTMNADE, VRNN)

SIZES = {
    'srnn': (SRNN, dict(z_dim=3, d_dim=8, a_dim=8, hidden_units=9, embed_units=(7,))),
    'vrnn': (VRNN, dict(z_dim=3, d_dim=8, hidden_units=9, embed_units=(7,))),
    'rnn': (RNN, dict(d_dim=8, hidden_units=9, embed_units=(7,))),
    'balstm': (BALSTM, dict(time_units=(5, 4), key_units=(4, 3))),
    'tp_lstm_nade': (TPLSTMNADE, dict(time_units=(5, 4), nade_units=5)),
    'storn': (STORN, dict(z_dim=3, d_dim=8, a_dim=8, hidden_units=9, embed_units=(7,))),
    'srnn_balstm': (SRNNBALSTM, dict(time_units=(5, 4), key_units=(4, 3), z_dim=3, a_dim=6,
                                     hidden_units=7, embed_units=(6,))),
    'srnn_tp_lstm_nade': (SRNNTPLSTMNADE, dict(time_units=(5, 4), nade_units=5, z_dim=3, a_dim=6,
                                               hidden_units=7, embed_units=(6,))),
    'dmm': (DMM, dict(z_dim=3, a_dim=8, hidden_units=9, dmm_augmented=True)),
}
# The models the generic generation tests run (tests/test_tied.py has the tied models' own).
NAMES = ('srnn', 'vrnn', 'rnn', 'dmm', 'storn', 'srnn_nade', 'vrnn_nade', 'rnn_nade')


def model(name: str, **kwargs):
  """A tiny model, not built. `name`: a key of `SIZES`, or 'srnn', 'vrnn' or 'rnn' with
  '_nade' appended for the NADE emission (6 hidden units); `kwargs` add to or override its
  options."""
  if name in SIZES:
    cls, sizes = SIZES[name]
    return cls(**{**sizes, **kwargs})
  kind, _, emission = name.partition('_')
  cls, sizes = SIZES[kind]
  if emission:
    kwargs = {'emission': emission, 'nade_units': 6, **kwargs}
  return cls(**{**sizes, **kwargs})
