"""Models: the SRNN and its baselines, and the tied-parallel models (BALSTM, TP-LSTM-NADE),
the Deep Markov Model (DMM) and STORN, all on one base (`SequenceModel`); the latent ones (SRNN,
VRNN, DMM, STORN) on `LatentModel`, which the particle filter runs. `factory` builds them from a
`Config`."""

from srnn_tf.models.base import LatentModel, SequenceModel, standardize_features
from srnn_tf.models.rnn import RNN
from srnn_tf.models.srnn import SRNN
from srnn_tf.models.vrnn import VRNN
from srnn_tf.models.tied import BALSTM, TPLSTMNADE
from srnn_tf.models.dmm import DMM
from srnn_tf.models.storn import STORN
from srnn_tf.models.tied_chain import SRNNBALSTM, SRNNTPLSTMNADE

__all__ = ['BALSTM', 'DMM', 'RNN', 'SRNN', 'SRNNBALSTM', 'SRNNTPLSTMNADE', 'STORN', 'TPLSTMNADE',
           'VRNN', 'LatentModel', 'SequenceModel', 'standardize_features']
