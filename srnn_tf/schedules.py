"""The paper's learning-rate schedule, a Keras `LearningRateSchedule`: saved with the optimizer
in `model.keras`, so a run's file names it (registered as `srnn_tf>ConstantThenExponentialDecay`;
the registered name, not this module's path, is what loading looks up)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package='srnn_tf')
class ConstantThenExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
  """`lr0` for `constant_epochs` epochs, then divided by `decay_factor` each epoch.

  Epoch `e` (0-based) runs at `lr0 * decay_factor ** -max(0, e - constant_epochs)`, as in the
  SRNN release (constant through epoch 20, then /1.2 per epoch).
  """

  def __init__(self, initial_learning_rate, steps_per_epoch, constant_epochs=20,
               decay_factor=1.2):
    self.initial_learning_rate = initial_learning_rate
    self.steps_per_epoch = steps_per_epoch
    self.constant_epochs = constant_epochs
    self.decay_factor = decay_factor

  def __call__(self, step):
    epoch = tf.floor(tf.cast(step, tf.float32) / float(self.steps_per_epoch))
    decays = tf.maximum(0.0, epoch - float(self.constant_epochs))
    return self.initial_learning_rate * tf.pow(float(self.decay_factor), -decays)

  def get_config(self):
    return {'initial_learning_rate': self.initial_learning_rate,
            'steps_per_epoch': self.steps_per_epoch,
            'constant_epochs': self.constant_epochs, 'decay_factor': self.decay_factor}
