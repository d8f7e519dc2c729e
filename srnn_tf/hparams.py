"""The run's configuration in TensorBoard's HParams view: a sweep's grid reads as a table of
runs against their train and validation ELBO."""

import contextlib
import dataclasses
import glob
import os

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import metadata


def log_hparams(logdir: str, config) -> None:
  """Records the run's configuration for TensorBoard's HParams view (a sweep's z/d grid reads
  as a table of runs against their validation ELBO; `experiments.sweep` writes the view's
  column definitions)."""
  with tf.summary.create_file_writer(logdir).as_default():
    hp.hparams(hparam_values(config), trial_id=os.path.basename(os.path.dirname(
        os.path.abspath(logdir))))


def write_hparams_config(logdir: str, varied: list[str]) -> None:
  """Writes the HParams view's columns at the root of a sweep's run folders: the config
  fields the sweep varies and the train / validation ELBO (Keras's `epoch_elbo` scalars).

  It replaces the columns an earlier sweep wrote there: every writer adds an events file, and
  with several at the root TensorBoard would show one of them, not necessarily the newest.
  """
  for path in glob.glob(os.path.join(logdir, 'events.out.tfevents.*')):
    try:
      tags = {v.tag for record in tf.data.TFRecordDataset(path)
              for v in tf.compat.v1.Event.FromString(record.numpy()).summary.value}
    # Cut short by a kill (not ours to judge), or removed meanwhile by another lane's sweep.
    except (tf.errors.DataLossError, tf.errors.NotFoundError):
      continue
    if tags == {metadata.EXPERIMENT_TAG}:   # nothing but an earlier sweep's columns
      with contextlib.suppress(FileNotFoundError):   # the same race
        os.remove(path)
  metrics = [hp.Metric('epoch_elbo', group=group, display_name=f'{group} ELBO/step')
             for group in ('validation', 'train')]
  with tf.summary.create_file_writer(logdir).as_default():
    hp.hparams_config(hparams=[hp.HParam(name) for name in varied], metrics=metrics)


def hparam_values(config) -> dict:
  """The config's fields that TensorBoard can show (scalars and strings)."""
  values = {}
  for k, v in dataclasses.asdict(config).items():
    if isinstance(v, (bool, int, float, str)):
      values[k] = v
    elif isinstance(v, (tuple, list)):
      values[k] = ','.join(map(str, v))
  return values
