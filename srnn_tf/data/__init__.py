"""The data layer: corpora (download, cache, safe loading, validation), MIDI, tf.data.

    corpus = srnn_tf.data.load_corpus('jsb', 'srnn2016', data_dir='../shared/data')
    ds, steps = srnn_tf.data.train_dataset(corpus.splits['train'], seq_len=100)

`python -m srnn_tf.data describe --dataset=jsb` prints a corpus's statistics.
"""

from srnn_tf.data.cache import data_dir, ENV_VAR
from srnn_tf.data.corpus import Corpus, load_corpus, load_file, load_midi, load_npz, load_pickle
from srnn_tf.data.errors import DataError
from srnn_tf.data.registry import CORPORA, DEFAULT_VERSION, SPLITS, VERSIONS

__all__ = ['CORPORA', 'DEFAULT_VERSION', 'ENV_VAR', 'SPLITS', 'VERSIONS', 'Corpus', 'DataError',
           'data_dir', 'load_corpus', 'load_file', 'load_midi', 'load_npz', 'load_pickle']

_PIPELINE = ('eval_batches', 'eval_dataset', 'pack_streams', 'shift_inputs', 'stream_dataset',
             'train_dataset', 'training_windows')


def __getattr__(name):
  # The pipeline imports TensorFlow; keep it out of `describe` and other data-only uses.
  if name in _PIPELINE:
    from srnn_tf.data import pipeline
    return getattr(pipeline, name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
