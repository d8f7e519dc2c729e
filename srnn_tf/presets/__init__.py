"""Trained models shipped with the package: generate, score, serve or fine-tune without training.

    import srnn_tf
    for card in srnn_tf.presets.list():   # each with its numbers
      print(card)
    model = srnn_tf.presets.load('jsb_rnn_nade')   # a compiled Keras model
    rolls = model.generate(num_steps=64, seed=(1, 2))

and `--preset=NAME` wherever a script takes `--run` (srnn-generate, srnn-eval,
srnn-reconstruct, srnn-tune, srnn-export).

A preset is a folder here: `card.json` (what it is, how it was trained, its validation and
test numbers in both conventions, the Keras config it is rebuilt from) and `weights.npz` (every
weight by its Keras path, in float16 where the numbers survive it). Numpy reads the npz without
pickle and the model is rebuilt from the package's own classes, so loading a preset runs no
code the file holds. `experiments/make_preset.py` writes them from a finished run.
"""

import builtins
import dataclasses
import os

from srnn_tf.errors import UserError
from srnn_tf.files import read_json

CARD_JSON = 'card.json'
WEIGHTS_NPZ = 'weights.npz'
ROOT = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class Card:
  """What a preset is and what it measured.

  Attributes:
    name: the preset's name (its folder).
    title: one line: the model and corpus.
    dataset, data_version, model: as in the run's config.
    parameters: trainable weights.
    dtype: the stored weights' precision ('float16' or 'float32').
    numbers: per split ('valid', 'test'), the estimates at the stored precision: each a dict
      of `per_step` (the SRNN paper's convention: each sequence's value / its length, mean
      over sequences) and `total_per_step` (Boulanger et al.'s: total / total frames), and
      `bound` ('exact', 'elbo' or 'smc100').
    fields: the whole card.json.
  """
  name: str
  title: str
  dataset: str
  data_version: str
  model: str
  parameters: int
  dtype: str
  numbers: dict
  fields: dict = dataclasses.field(repr=False, compare=False)

  def __str__(self):
    test = self.numbers.get('test', {})
    return (f'{self.name}: {self.title}; test {test.get("total_per_step", float("nan")):.3f} '
            f'nats/frame (total/total), {test.get("per_step", float("nan")):.3f} (per '
            f'sequence), {test.get("bound", "?")}; {self.parameters:,} parameters, {self.dtype}')


def folder(name: str) -> str:
  """The folder of preset `name`.

  Raises:
    UserError: no such preset (naming those there are).
  """
  path = os.path.join(ROOT, name)
  if not name or os.sep in name or not os.path.isfile(os.path.join(path, CARD_JSON)):
    raise UserError(f'--preset={name}: no such preset; choose one of '
                    f'{", ".join(names()) or "(none installed)"}')
  return path


def names() -> list[str]:
  """The installed presets' names, sorted."""
  return sorted(entry for entry in os.listdir(ROOT)
                if os.path.isfile(os.path.join(ROOT, entry, CARD_JSON)))


def card(name: str) -> Card:
  """The card of preset `name` (no TensorFlow needed)."""
  path = os.path.join(folder(name), CARD_JSON)
  fields = read_json(path)
  if not isinstance(fields, dict):
    raise UserError(f'{path}: unreadable (truncated or not JSON)')
  config = fields['config']
  return Card(name=name, title=fields['title'], dataset=config['dataset'],
              data_version=config['data_version'], model=config['model'],
              parameters=fields['parameters'], dtype=fields['dtype'],
              numbers=fields['numbers'], fields=fields)


class Cards(builtins.list):
  """A list of cards that prints as one line per preset (`print(srnn_tf.presets.list())`)."""

  def __repr__(self):
    return '\n'.join(map(str, self))

  __str__ = __repr__


def list() -> Cards:  # noqa: A001  (the API's name: `srnn_tf.presets.list()`)
  """Every installed preset's card, by name."""
  return Cards(card(name) for name in names())


def load(name: str, compile: bool = True):  # noqa: A002  (Keras's own argument name)
  """Preset `name` as a Keras model, built and with its weights (float32 in memory).

  Args:
    compile: compile it with its training's optimiser (Adam and the learning-rate schedule
      of its config), ready for `fit`; `generate` and `score` need no compiling.
  """
  return load_run(name, compile=compile).model


def load_run(name: str, compile: bool = False):  # noqa: A002
  """Preset `name` as the scripts load a run: `finished.Run`, with default outputs under
  `./<name>/` (the package's own folder is not theirs to write)."""
  import numpy as np
  from srnn_tf import configs, finished
  from srnn_tf.data import grid as grid_lib
  from srnn_tf.models import factory
  path = folder(name)
  info = card(name)
  config = configs.from_dict(info.fields['config'], source=os.path.join(path, CARD_JSON))
  model = factory.model_class(config.model).from_config(info.fields['keras_config'])
  model.build()
  weights_path = os.path.join(path, WEIGHTS_NPZ)
  with np.load(weights_path, allow_pickle=False) as stored:
    assign_weights(model, dict(stored), weights_path)
  if compile:
    from srnn_tf import trainer
    trainer.compile_model(model, config, info.fields['steps_per_epoch'])
    # Fine-tuning optimises the whole ELBO from its first step: the KL weight's warm-up
    # belonged to the training from scratch (its optimizer starts again at step 0).
    model.kl_anneal_steps = 0
  return finished.Run(path=name, workdir=path, model=model, config=config,
                      grid=grid_lib.Grid.from_dict(info.fields['grid']),
                      home=os.path.abspath(name),
                      # As a run.json has them, so that what reads one (the SavedModel's
                      # metadata) finds the numbers.
                      summary={**info.fields, 'valid': info.numbers['valid'],
                               'test': info.numbers['test']})


def _key(variable) -> str:
  """A weight's Keras path without the model's own name, which Keras makes unique per process
  (`rnn`, `rnn_1`, ...): the same weight keeps its key in every process."""
  return variable.path.split('/', 1)[-1]


def weight_arrays(model, dtype: str = 'float32') -> dict:
  """Every weight of `model` by its Keras path (less the model's name), floating ones cast to
  `dtype` (what `weights.npz` holds)."""
  import numpy as np
  arrays = {}
  for variable in model.weights:
    value = np.asarray(variable.numpy())
    arrays[_key(variable)] = value.astype(dtype) if value.dtype.kind == 'f' else value
  return arrays


def assign_weights(model, arrays: dict, source: str) -> None:
  """Sets every weight of `model` from `arrays` (`weight_arrays`'s keys; cast to each weight's
  dtype).

  Raises:
    UserError: naming `source`: a weight missing, left over or of another shape.
  """
  variables = {_key(variable): variable for variable in model.weights}
  missing, extra = sorted(set(variables) - set(arrays)), sorted(set(arrays) - set(variables))
  if missing or extra:
    raise UserError(f'{source}: does not fit its model (missing {missing[:3]}, unknown '
                    f'{extra[:3]})')
  for path, variable in variables.items():
    if tuple(arrays[path].shape) != tuple(variable.shape):
      raise UserError(f'{source}: {path} has shape {arrays[path].shape}, the model '
                      f'{tuple(variable.shape)}')
    variable.assign(arrays[path].astype(variable.dtype))
