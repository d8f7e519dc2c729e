"""srnn_tf: stochastic recurrent neural networks (SRNN, Fraccaro et al. 2016) for polyphonic
music, with RNN and VRNN baselines, in Keras 3 (TensorFlow backend) and TFP.

    import srnn_tf
    model = srnn_tf.SRNN(z_dim=100)          # also srnn_tf.VRNN, srnn_tf.RNN
    corpus = srnn_tf.data.load_corpus('jsb', 'srnn2016')
    print(*srnn_tf.presets.list(), sep='\n')   # trained models shipped with the package
    model = srnn_tf.presets.load('jsb_rnn_nade')
"""

import os
import sys

__version__ = '0.1.0'

_MODELS = ('RNN', 'SRNN', 'VRNN', 'BALSTM', 'TPLSTMNADE', 'DMM', 'STORN', 'SRNNBALSTM',
           'SRNNTPLSTMNADE', 'SequenceModel')


def __getattr__(name):
  # Models import TensorFlow; keep `import srnn_tf.data` / `srnn_tf.data.midi` light without it.
  if name in _MODELS:
    from srnn_tf import models
    return getattr(models, name)
  if name == 'presets':   # light: reading the cards needs no TensorFlow
    import importlib
    return importlib.import_module('srnn_tf.presets')
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


# A user who has Keras loaded is about to use it: register the model classes with its
# deserialiser now, so that `keras.saving.load_model('run/model.keras')` after `import keras`
# and `import srnn_tf` finds them. Without Keras loaded, importing the package (or its light
# modules, srnn_tf.data, srnn_tf.keyboard) stays free of TensorFlow; `srnn_tf.SRNN`, ... or
# `import srnn_tf.models` register them then. (SRNN_TF_LAZY_MODELS=1 turns this off for the
# test that imports every module first, in a process where Keras stays loaded.)
if 'keras' in sys.modules and not os.environ.get('SRNN_TF_LAZY_MODELS'):
  from srnn_tf import models  # noqa: E402,F401
