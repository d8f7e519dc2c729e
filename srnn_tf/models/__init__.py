"""Models: the SRNN and its baselines, all on one base (`SequenceModel`)."""

from srnn_tf.models.base import SequenceModel, standardize_features
from srnn_tf.models.rnn import RNN
from srnn_tf.models.srnn import SRNN
from srnn_tf.models.vrnn import VRNN
