"""Reconstruct a piece with a trained model (the report's figure 1c): encode it with q,
decode p(x_t | z_t, d_t), and write the input and the reconstruction probabilities side by
side as a PNG, plus the MIDI of the reconstruction thresholded at --threshold. With a NADE
emission the keys of a frame are not independent, and the figure shows each key's
conditional p(x_t,d = 1 | x_t,<d, z_t, d_t), given the true lower keys of the frame.

    python reconstruct.py --run=runs/jsb_srnn2016_srnn_z100_d300 --split=test --index=0
    python reconstruct.py --run=runs/... --midi=song.mid
"""

import os

from absl import flags

from srnn_tf import cli

_RUN = cli.run_flag()
_MIDI = flags.DEFINE_string('midi', None, 'A MIDI file to reconstruct (else a corpus piece).')
_SPLIT = flags.DEFINE_enum('split', 'test', ['train', 'valid', 'test'], 'Corpus split.')
_INDEX = flags.DEFINE_integer('index', 0, 'Piece index in the split.', lower_bound=0)
_MAX_FRAMES = flags.DEFINE_integer('max_frames', 200, 'Frames to show (from the start).',
                                   lower_bound=1)
_THRESHOLD = flags.DEFINE_float('threshold', 0.5, 'Probability above which a key sounds.',
                                lower_bound=0.0, upper_bound=1.0)
_DATA_DIR = cli.data_dir_flag()
_OUTPUT_DIR = cli.output_dir_flag('<run>/reconstructions')
_GRID = cli.GridFlags()


def main(argv):
  del argv
  import numpy as np
  from srnn_tf import files, plots, rundir
  from srnn_tf.data import midi
  run = _RUN.load()
  model, config, grid = run.model, run.config, _GRID.apply(run.grid)
  out = _OUTPUT_DIR.value or run.output_path('reconstructions')
  rundir.check_output_dir(out)
  if _MIDI.value:
    read, _ = midi.read_on_grid(_MIDI.value, grid, _GRID.transpose)
    roll, name = read.roll, os.path.basename(_MIDI.value)
  else:
    if config is None:
      return cli.fail(f'{_RUN.value}: the run has no config.json to find its corpus: give '
                      '--midi')
    corpus = run.corpus(_DATA_DIR.value)
    pieces = corpus.splits[_SPLIT.value]
    if not _INDEX.value < len(pieces):
      return cli.fail(f'--index={_INDEX.value}: the {_SPLIT.value} split has {len(pieces)} '
                      f'piece(s) (0..{len(pieces) - 1})')
    roll = pieces[_INDEX.value]
    corpus_name = os.path.basename(os.path.normpath(config.dataset))   # a path: its name only
    name = f'{corpus_name} {config.data_version} {_SPLIT.value} piece {_INDEX.value}'
  roll = roll[:_MAX_FRAMES.value].astype(np.float32)
  probs = model.reconstruct(roll[None]).numpy()[0]
  score = model.score(roll[None])
  stem = os.path.join(out, name.replace(' ', '_').replace('.', '_'))
  title = (f'{type(model).__name__} ({run.name}): {name}, '
           f'ELBO {float(score["elbo_per_step"][0]):.2f} nats/frame')
  label = ('each key given the true lower keys, p(x_t,d | x_t,<d, state)'
           if model.keys_in_order else 'reconstruction p(x_t | state)')
  with files.atomic_path(stem + '.png') as tmp:
    plots.save_reconstruction(tmp, roll, probs, title, label)
  with files.atomic_path(stem + '_reconstruction.mid') as tmp:
    midi.write_midi((probs > _THRESHOLD.value).astype(np.uint8), tmp,
                    frames_per_quarter=grid.frames_per_quarter, tempo=grid.tempo)
  print(f'wrote {stem}.png and {stem}_reconstruction.mid')
  return 0


def run():
  """The `srnn-reconstruct` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
