"""The corpora srnn_tf knows: names, versions, canonical files, URLs and hashes.

Two versions of each of the four polyphonic-music corpora:

* ``boulanger``: the Boulanger-Lewandowski et al. (ICML 2012) train/valid/test splits, as the
  pickles published with that paper (a dict of lists of frames of MIDI note numbers).
* ``srnn2016``: the release that came with the SRNN paper (Fraccaro et al. 2016): npz files
  whose train/valid rows are 100-frame chunks laid out for stateful training with batch 16,
  and whose test set is whole, zero-padded sequences with a mask.
"""

import dataclasses
import os

from srnn_tf.configs import CORPORA, VERSIONS  # noqa: F401  (re-exported)
from srnn_tf.data.errors import DataError

DEFAULT_VERSION = 'boulanger'
SPLITS = ('train', 'valid', 'test')

_BOULANGER_URL = 'http://www-etud.iro.umontreal.ca/~boulanni/'
_SRNN2016_URL = 'https://github.com/marcofraccaro/srnn/raw/master/data/'

_BOULANGER_FILES = {
    'jsb': 'JSB Chorales.pickle',
    'muse': 'MuseData.pickle',
    'nottingham': 'Nottingham.pickle',
    'piano': 'Piano-midi.de.pickle',
}

# The npz release's hashes (published with the data). The Boulanger pickles' are those of the
# copies the tests run on (../shared/data): other copies in the wild differ byte-wise (Python 2
# vs 3 pickles, numpy vs int notes) and load as well from a local data directory, whose files
# are not hashed; only a download is checked.
_BOULANGER_SHA256 = {
    'jsb': '3a9ffa560619735678dcc7f30ba0e353e51b268fa6f28daf3f66707f0e3db698',
    'muse': 'd76ebbeb3bb4c8f87e5b08dc35b0bd8dbbf9fbe35cb43ed731dfb9159cfa609c',
    'nottingham': '88a487d2d4021b30b840da8e07a53687a0f5f128e456a1b76b87c5bc53d99346',
    'piano': '0d844e11aa6cd6c664573c079e9106a166c300e4a5a6c574f4299f090bcba6a8',
}
_SRNN2016_SHA256 = {
    'jsb': 'a30de36f8ca1c9525287af0c414a6ff1a4ebbb4df284173140f07ad355b33f24',
    'muse': '9c4c9baaf4da38ae308d2cbcf7fe3dbaa0ce05f902ba645f59f8ccca19945c26',
    'nottingham': '5c0ec4a70089667d1406456c2efbb94c59bb9745df4659588a185170b051b323',
    'piano': '8122fc1aa7302780ede23abf22dd4567d4bbffc790172b3f4259228fe764c7de',
}


@dataclasses.dataclass(frozen=True)
class CorpusFile:
  """Where one corpus file lives, relative to the data directory, and where it comes from."""
  name: str
  version: str
  relpath: str  # e.g. 'boulanger/JSB Chorales.pickle'
  url: str
  sha256: str | None


def corpus_file(name: str, version: str = DEFAULT_VERSION) -> CorpusFile:
  """Returns the canonical file of corpus `name` in data version `version`."""
  if name not in CORPORA:
    raise ValueError(f'Unknown corpus {name!r}; choose one of {", ".join(CORPORA)}.')
  if version == 'boulanger':
    fname = _BOULANGER_FILES[name]
    return CorpusFile(name, version, f'boulanger/{fname}',
                      _BOULANGER_URL + fname.replace(' ', '%20'), _BOULANGER_SHA256[name])
  if version == 'srnn2016':
    fname = f'{name}_raw_batchsize16_seqlen100.npz'
    return CorpusFile(name, version, f'srnn2016/{fname}', _SRNN2016_URL + fname,
                      _SRNN2016_SHA256[name])
  raise ValueError(f'Unknown data version {version!r}; choose one of {", ".join(VERSIONS)}.')


def check_dataset(name: str) -> None:
  """Raises `DataError` unless `name` is a corpus name or an existing file or folder."""
  if name not in CORPORA and not os.path.exists(name):
    raise DataError(f'{name}: no such file or folder, and not a corpus name (choose one of '
                    f'{", ".join(CORPORA)}, or give a path)')
