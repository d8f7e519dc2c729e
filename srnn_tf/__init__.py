"""srnn_tf: stochastic recurrent neural networks (SRNN, Fraccaro et al. 2016) for polyphonic
music, with RNN and VRNN baselines, in Keras 3 (TensorFlow backend) and TFP."""

__version__ = '0.1.0'

from srnn_tf.models import RNN, SRNN, VRNN, SequenceModel
