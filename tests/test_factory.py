"""Models from their config: one factory, every hyperparameter a `Config` field of the same
name, `get_config` and the export's metadata derived from the constructor."""

import dataclasses
import json

import keras
import pytest

from srnn_tf import configs
from srnn_tf import export
from srnn_tf.models import factory
from srnn_tf.models.base import constructor_parameters
from srnn_tf.models.vrnn import VRNN

DERIVED = ('kl_anneal_steps', 'stateful_batch_size')


def test_every_model_of_the_flags_is_in_the_factory():
  assert tuple(factory.MODELS) == configs.MODELS


@pytest.mark.parametrize('name', configs.MODELS)
def test_every_constructor_argument_is_a_config_field(name):
  fields = {f.name for f in dataclasses.fields(configs.Config)}
  arguments = set(constructor_parameters(factory.MODELS[name]))
  assert arguments - fields - set(DERIVED) - set(factory.NOT_OPTIONS) == set()


@pytest.mark.parametrize('name', configs.MODELS)
def test_built_model_carries_the_config(name):
  config = dataclasses.replace(configs.CONFIGS['small'], model=name, seed=7, kl_anneal_epochs=3,
                               nade_units=5, clip_norm=2.5)
  model = factory.build(config, steps_per_epoch=11)
  got = model.get_config()
  for key, value in factory.hyperparameters(config, 11).items():
    assert got[key] == value, key
  assert got['kl_anneal_steps'] == 33 and got['stateful_batch_size'] == config.batch_size
  # Round trip through JSON, as a .keras file stores it.
  again = type(model).from_config(json.loads(json.dumps(got)))
  assert json.dumps(again.get_config(), sort_keys=True) == json.dumps(got, sort_keys=True)
  # The export's metadata: the architecture, no training option.
  sizes = export.metadata(model)['sizes']
  assert 'seed' not in sizes and 'clip_norm' not in sizes
  assert all(not k.startswith('dropout_') for k in sizes)
  assert {'time_units', 'hidden_units'} & set(sizes)


def test_defaults_are_filled_in_and_unknown_arguments_refused():
  model = VRNN(z_dim=3)
  assert model.get_config()['d_dim'] == 300 and model.get_config()['kl_start'] == 0.2
  with pytest.raises(TypeError, match='h_dim'):
    VRNN(h_dim=4)


def test_a_vrnn_saved_with_the_old_name_of_its_state_loads():
  config = {**VRNN(z_dim=3, d_dim=5).get_config()}
  config['h_dim'] = config.pop('d_dim')
  assert VRNN.from_config(config).d_dim == 5


def test_unknown_model_named():
  with pytest.raises(ValueError, match="'dmx'.*srnn"):
    factory.model_class('dmx')


def test_positional_arguments_are_recorded():
  model = VRNN(3, 5)
  assert (model.z_dim, model.d_dim) == (3, 5)
  assert model.hyperparameters()['d_dim'] == 5
  keras.backend.clear_session()


def test_models_say_whether_they_model_the_keys_in_order():
  """What reconstruct.py's figure is labelled by: each key given the lower keys (NADE
  emissions, the tied models' key axis) or the keys independent."""
  from srnn_tf.testing import tiny
  ordered = {name: tiny.model(name).keys_in_order for name in tiny.SIZES}
  assert ordered == {name: name in ('balstm', 'tp_lstm_nade', 'srnn_balstm', 'srnn_tp_lstm_nade')
                     for name in tiny.SIZES}
  assert tiny.model('rnn_nade').keys_in_order


def test_the_latent_models_of_the_flags_are_the_latent_classes():
  from srnn_tf.models import LatentModel
  assert set(configs.LATENT_MODELS) == {name for name, cls in factory.MODELS.items()
                                        if issubclass(cls, LatentModel)}
