"""Finding and loading trained runs: a run directory, or a `.keras` file."""

import json
import os

import keras

from srnn_tf import configs

import srnn_tf.models  # noqa: F401  (registers the model classes for deserialisation)
import srnn_tf.training  # noqa: F401  (registers the learning-rate schedule)


def run_dir(path: str) -> str:
  """The run directory of `path`: the path itself, or the folder of a `.keras` file."""
  return path if os.path.isdir(path) else os.path.dirname(path)


def load_run(path: str):
  """Loads a trained model and its config from a run directory or a `.keras` file.

  Returns:
    `(model, config)`; `config` is the run's `configs.Config` when the run directory has a
    config.json, else None.
  """
  directory = run_dir(path)
  model_path = os.path.join(path, 'model.keras') if os.path.isdir(path) else path
  if not os.path.exists(model_path):
    raise FileNotFoundError(f'{model_path}: no trained model here (has the run finished? '
                            'rerun train.py with the same flags to resume it)')
  model = keras.saving.load_model(model_path, compile=False)
  config = None
  config_path = os.path.join(directory, 'config.json')
  if os.path.exists(config_path):
    with open(config_path) as f:
      config = configs.from_dict(json.load(f))
  return model, config
