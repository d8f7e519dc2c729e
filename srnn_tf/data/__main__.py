"""`python -m srnn_tf.data` (`srnn-data`): fetch corpora into the cache, describe any input.

    srnn-data download --dataset=jsb [--data_version=srnn2016]   # one corpus file
    srnn-data download --all                 # every corpus, both versions (for offline use)
    srnn-data describe --dataset=jsb [--data_version=srnn2016] [--data_dir=DIR]
    srnn-data describe --file=PATH           # .pickle/.pkl, .npz, .mid, or a MIDI folder

Downloads go to the data directory (`--data_dir`, else $SRNN_TF_DATA_DIR, else the user cache
directory), atomically and sha256-checked; files already there are kept. On bad input it
prints one line naming the file and the problem, and exits with status 1.
"""

import json

from absl import flags

from srnn_tf import cli
from srnn_tf.data import cache
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import registry

_DATASET = flags.DEFINE_enum('dataset', None, registry.CORPORA, 'Corpus to describe.')
_DATA_VERSION = flags.DEFINE_enum('data_version', registry.DEFAULT_VERSION, registry.VERSIONS,
                                  'Version of the corpus.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Data directory (default: $SRNN_TF_DATA_DIR, '
                                'then the user cache directory).')
_FILE = flags.DEFINE_string('file', None, 'A pickle, npz, MIDI file or folder of MIDI files.')
_FRAMES_PER_QUARTER = flags.DEFINE_integer('frames_per_quarter', 4,
                                           'Frame grid for MIDI input.', lower_bound=1)
_ALL = flags.DEFINE_bool('all', False, 'download: every corpus in both versions.')
_JSON = flags.DEFINE_bool('json', False, 'Print the statistics as JSON.')


def format_stats(corpus: corpus_lib.Corpus) -> str:
  lines = [f'{corpus.name}  ({corpus.source})',
           f'{"split":<6} {"sequences":>9} {"frames":>9} {"notes/frame":>11} {"note range":>11}']
  for split, s in corpus.stats().items():
    rng = f'{s["lowest_note"]}..{s["highest_note"]}' if s['lowest_note'] is not None else '-'
    extra = (f'  ({s["chunks"]} chunks of {s["frames"] // s["chunks"]} frames, '
             f'as {s["sequences"]} streams)' if 'chunks' in s else '')
    lines.append(f'{split:<6} {s["sequences"]:>9,} {s["frames"]:>9,} '
                 f'{s["notes_per_frame"]:>11.2f} {rng:>11}{extra}')
  if corpus.out_of_range_notes:
    lines.append(f'notes outside the 88 piano keys, left out: {corpus.out_of_range_notes}')
  return '\n'.join(lines)


def main(argv):
  usage = ('usage: srnn-data download (--dataset=NAME [--data_version=V] | --all), or '
           'srnn-data describe (--dataset=NAME | --file=PATH)')
  if len(argv) != 2 or argv[1] not in ('describe', 'download'):
    return cli.fail(usage, 2)
  if argv[1] == 'download':
    if bool(_DATASET.value) == _ALL.value:
      return cli.fail('download: give --dataset or --all', 2)
    if _ALL.value:
      cache.download(registry.CORPORA, registry.VERSIONS, _DATA_DIR.value)
    else:
      cache.download([_DATASET.value], [_DATA_VERSION.value], _DATA_DIR.value)
    return 0
  if bool(_DATASET.value) == bool(_FILE.value):
    return cli.fail('give exactly one of --dataset and --file', 2)
  if _FILE.value:   # bad input: one line from cli
    corpus = corpus_lib.load_file(_FILE.value, _FRAMES_PER_QUARTER.value)
  else:
    corpus = corpus_lib.load_corpus(_DATASET.value, _DATA_VERSION.value, _DATA_DIR.value)
  if _JSON.value:
    print(json.dumps({'name': corpus.name, 'source': corpus.source,
                      'out_of_range_notes': corpus.out_of_range_notes,
                      'splits': corpus.stats()}, indent=2))
  else:
    print(format_stats(corpus))
  return 0


def run():
  """The `srnn-data` console script (`python -m srnn_tf.data`)."""
  cli.run(main)


if __name__ == '__main__':
  run()
