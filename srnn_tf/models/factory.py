"""Models built from a `Config`: the one place that knows which class each `--model` is and
how a run's options become a model's hyperparameters.

Every constructor argument of a model is the `Config` field of the same name (a test checks
it for every model), except the two that depend on the data as well: `kl_anneal_steps`
(epochs times steps per epoch) and `stateful_batch_size` (the batch size when state is
carried). A new model needs an entry in `MODELS` and a Config field for each new argument.
"""

from srnn_tf import configs
from srnn_tf.models.base import SequenceModel, constructor_parameters
from srnn_tf.models.dmm import DMM
from srnn_tf.models.storn import STORN
from srnn_tf.models.rnn import RNN
from srnn_tf.models.srnn import SRNN
from srnn_tf.models.tied import BALSTM, TPLSTMNADE
from srnn_tf.models.tied_chain import SRNNBALSTM, SRNNTPLSTMNADE
from srnn_tf.models.vrnn import VRNN

MODELS: dict[str, type[SequenceModel]] = {
    'rnn': RNN, 'vrnn': VRNN, 'srnn': SRNN, 'tp_lstm_nade': TPLSTMNADE, 'balstm': BALSTM,
    'dmm': DMM, 'storn': STORN, 'srnn_tp_lstm_nade': SRNNTPLSTMNADE, 'srnn_balstm': SRNNBALSTM}

# Constructor arguments that are not run options: the tests' smaller keyboards.
NOT_OPTIONS = ('num_keys',)


def model_class(name: str) -> type[SequenceModel]:
  try:
    return MODELS[name]
  except KeyError:
    raise ValueError(f'unknown model {name!r}; choose one of {", ".join(MODELS)}') from None


def hyperparameters(config: configs.Config, steps_per_epoch: int) -> dict:
  """The constructor arguments of `config.model`'s class, from `config`."""
  derived = {'kl_anneal_steps': config.kl_anneal_epochs * steps_per_epoch,
             'stateful_batch_size': config.batch_size if config.carry_state else 0}
  return {name: derived[name] if name in derived else getattr(config, name)
          for name in constructor_parameters(model_class(config.model))
          if name not in NOT_OPTIONS}


def build(config: configs.Config, steps_per_epoch: int) -> SequenceModel:
  """The (unbuilt, uncompiled) model of `config`; `steps_per_epoch` sets the KL annealing."""
  return model_class(config.model)(**hyperparameters(config, steps_per_epoch))
