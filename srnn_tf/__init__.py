"""srnn_tf: stochastic recurrent neural networks (SRNN, Fraccaro et al. 2016) for polyphonic
music, with RNN and VRNN baselines, in Keras 3 (TensorFlow backend) and TFP.

    import srnn_tf
    model = srnn_tf.SRNN(z_dim=100)          # also srnn_tf.VRNN, srnn_tf.RNN
    corpus = srnn_tf.data.load_corpus('jsb', 'srnn2016')
"""

__version__ = '0.1.0'

_MODELS = ('RNN', 'SRNN', 'VRNN', 'BALSTM', 'TPLSTMNADE', 'DMM', 'STORN', 'SRNNBALSTM',
           'SRNNTPLSTMNADE', 'SequenceModel')


def __getattr__(name):
  # Models import TensorFlow; keep `import srnn_tf.data` / `srnn_tf.midi` light without it.
  if name in _MODELS:
    from srnn_tf import models
    return getattr(models, name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
