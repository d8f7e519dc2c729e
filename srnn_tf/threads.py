"""TensorFlow's thread pools, set once per process before its runtime starts."""

import tensorflow as tf
from absl import logging


def set_threads(intra_op: int, inter_op: int) -> None:
  """TF thread pools (0: TF's default). Only possible before TF has run anything; later
  (e.g. a second run in one process) the pools stay as they are, with a warning."""
  try:
    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op)
  except RuntimeError:
    if (tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads()) != (intra_op, inter_op):
      logging.warning('TensorFlow is already initialised; thread settings unchanged.')
