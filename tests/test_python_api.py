"""The Python API's door: every public method of a model refuses what is not a batch of piano
rolls, and every constructor what is out of its range, with one `ValueError` line naming the
method and the argument, before any work; good inputs give the numbers they gave unchecked."""

import numpy as np
import pytest
import tensorflow as tf

from srnn_tf.models import SequenceModel
from srnn_tf.testing import tiny

ROLLS = (np.random.default_rng(0).random((4, 6, 88)) < 0.1).astype('float32')
ONES = np.ones((4, 6), 'float32')

# (what, inputs, the message's end): each is refused by fit, evaluate, predict and score.
BAD_INPUTS = [
    ('halves', ROLLS * 0.5, 'x holds values other than 0 and 1'),
    ('twos', ROLLS * 2, 'x holds values other than 0 and 1'),
    ('minus ones', -ROLLS, 'x holds values other than 0 and 1'),
    ('NaN', ROLLS * np.nan, 'x holds values other than 0 and 1'),
    ('a mask of halves', {'x': ROLLS, 'mask': ONES / 2}, 'mask holds values other than 0 and 1'),
    ('a u of twos', {'x': ROLLS, 'u': ROLLS * 2}, 'u holds values other than 0 and 1'),
    ('no sequences', ROLLS[:0], r'x has shape \(0, 6, 88\): no sequences or no frames'),
    ('no frames', ROLLS[:, :0], r'x has shape \(4, 0, 88\): no sequences or no frames'),
    ('rank 2', ROLLS[0], r'x has shape \(6, 88\): must be piano rolls \[batch, frames, 88\]'),
    ('87 keys', ROLLS[..., :87], r'x has shape \(4, 6, 87\): must be piano rolls'),
    ('a dict without x', {'y': ROLLS}, 'a feature dict needs "x"'),
    ('a mask of the wrong shape', {'x': ROLLS, 'mask': ONES[:, :5]},
     r'mask has shape \(4, 5\): must be \(4, 6\), as x'),
]
BATCHED = [  # the same as datasets: only the graph sees their values
    ('halves', tf.data.Dataset.from_tensor_slices(ROLLS * 0.5).batch(2),
     'x holds values other than 0 and 1'),
    ('an empty dataset', tf.data.Dataset.from_tensor_slices(ROLLS[:0]).batch(2),
     'the dataset is empty'),
    ('87 keys', tf.data.Dataset.from_tensor_slices(ROLLS[..., :87]).batch(2),
     r'x has shape \(None, 6, 87\)'),
    ('a mask of halves', tf.data.Dataset.from_tensor_slices({'x': ROLLS, 'mask': ONES / 2}).batch(2),
     'mask holds values other than 0 and 1'),
]
METHODS = {
    'fit': lambda m, x: m.fit(x, epochs=1, verbose=0),
    'evaluate': lambda m, x: m.evaluate(x, verbose=0),
    'predict': lambda m, x: m.predict(x, verbose=0),
    'score': lambda m, x: m.score(x),
    'call': lambda m, x: m(x),
    'reconstruct': lambda m, x: m.reconstruct(x),
    'train_on_batch': lambda m, x: m.train_on_batch(x),
}


@pytest.fixture(scope='module')
def srnn():
  model = tiny.model('srnn')
  model.compile(optimizer='adam')
  return model


# Each bad input through one method, in turn (the door is one function: `checked_features`,
# plus `_check_arrays` for the methods that take whole datasets); every method once below.
CASES = [(method, *bad) for method, bad in zip(list(METHODS) * 2, BAD_INPUTS)]


@pytest.mark.parametrize('method,what,inputs,message', CASES,
                         ids=[f'{c[0]}-{c[1]}' for c in CASES])
def test_every_method_refuses_what_is_no_batch_of_piano_rolls(srnn, method, what, inputs,
                                                               message):
  weights = [w.numpy() for w in srnn.weights]
  with pytest.raises(ValueError, match=f'^{method}: {message}') as refused:
    METHODS[method](srnn, inputs)
  assert '\n' not in str(refused.value)
  for before, after in zip(weights, srnn.weights):   # nothing trained
    np.testing.assert_array_equal(before, after.numpy())


@pytest.mark.parametrize('method,what,dataset,message',
                         [(m, *b) for m, b in zip(['fit', 'evaluate', 'predict', 'fit'], BATCHED)],
                         ids=[b[0] for b in BATCHED])
def test_datasets_are_refused_too(srnn, method, what, dataset, message):
  with pytest.raises(ValueError, match=f'^{method}: {message}') as refused:
    METHODS[method](srnn, dataset)
  assert '\n' not in str(refused.value)


def test_a_carried_state_needs_batches_of_its_size():
  model = tiny.model('srnn', stateful_batch_size=3)
  model.compile(optimizer='adam')
  with pytest.raises(ValueError, match=r'^fit: batches must have stateful_batch_size=3 rows, '
                                       r'not 4$'):
    model.fit(ROLLS, batch_size=4, epochs=1, verbose=0)


@pytest.mark.parametrize('name', ['balstm', 'srnn_tp_lstm_nade', 'dmm', 'storn'])
def test_every_model_has_the_door(name):
  model = tiny.model(name)   # (their graphs for fit and evaluate take a minute to build)
  with pytest.raises(ValueError, match='^score: x holds values other than 0 and 1$'):
    model.score(ROLLS * 2)
  with pytest.raises(ValueError, match=r'^reconstruct: x has shape \(4, 6, 87\)'):
    model.reconstruct(ROLLS[..., :87])


@pytest.mark.parametrize('name,arguments,message', [
    ('srnn', dict(d_dim=0), 'SRNN: d_dim=0: must be at least 1'),
    ('srnn', dict(d_dim=-1), 'SRNN: d_dim=-1: must be at least 1'),
    ('srnn', dict(z_dim=2.5), 'SRNN: z_dim=2.5: must be an integer'),
    ('srnn', dict(z_dim=True), 'SRNN: z_dim=True: must be an integer'),
    ('srnn', dict(objective='iwae', num_particles=0), 'SRNN: num_particles=0: must be at least 1'),
    ('srnn', dict(kl_start=5), r'SRNN: kl_start=5: must be in \[0, 1\]'),
    ('srnn', dict(kl_start=float('nan')), r'SRNN: kl_start=nan: must be in \[0, 1\]'),
    ('srnn', dict(embed_units=()), r'SRNN: embed_units=\(\): needs one or more positive'),
    ('srnn', dict(inference='sideways'), "SRNN: inference='sideways': choose one of smoothing"),
    ('srnn', dict(objective='elbow'), "SRNN: objective='elbow': choose one of elbo, iwae"),
    ('srnn', dict(kl_anneal_steps=-1), 'SRNN: kl_anneal_steps=-1: must be an integer of at '
                                       'least 0'),
    ('vrnn', dict(dropout_d=1.0), r'VRNN: dropout_d=1.0: must be in \[0, 1\)'),
    ('rnn', dict(nade_units=0, emission='nade'), 'RNN: nade_units=0: must be at least 1'),
    ('balstm', dict(key_units=(4, 0)), r'BALSTM: key_units=\(4, 0\): needs one or more'),
    ('balstm', dict(num_keys=0), 'BALSTM: num_keys=0: must be an integer of at least 1'),
    ('dmm', dict(clip_norm=-1.0), 'DMM: clip_norm=-1.0: must not be negative'),
    ('storn', dict(free_bits=-0.5), 'STORN: free_bits=-0.5: must not be negative'),
])
def test_constructors_refuse_arguments_out_of_range(name, arguments, message):
  with pytest.raises(ValueError, match=f'^{message}'):
    tiny.model(name, **arguments)


def test_checked_features_are_the_features_unchecked():
  """On good inputs the checks only wait: the features that reach the model are those of
  `standardize_features`, in a graph as eagerly."""
  from srnn_tf.features import checked_features, standardize_features
  for data in (ROLLS, {'x': ROLLS, 'mask': ONES}, {'x': ROLLS, 'u': ROLLS, 'mask': ONES}):
    expected = standardize_features(data)
    for checked in (checked_features(data, 88), tf.function(checked_features)(data, 88)):
      for name in ('x', 'u', 'mask'):
        np.testing.assert_array_equal(checked[name], expected[name])


def test_checked_and_unchecked_models_give_the_same_numbers(srnn, monkeypatch):
  expected = srnn.score(ROLLS)['elbo'].numpy()
  monkeypatch.setattr(SequenceModel, 'check_inputs', False)
  np.testing.assert_array_equal(srnn.score(ROLLS)['elbo'].numpy(), expected)
