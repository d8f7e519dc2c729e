"""Sample music from a trained model: MIDI files, piano-roll PNGs, and WAVs when fluidsynth
and a General MIDI soundfont are installed.

    python generate.py --run=runs/jsb_srnn2016_srnn_z100_d300 --num_pieces=4 --num_steps=128
    python generate.py --run=runs/... --prime_midi=song.mid --prime_frames=32 --seed=3

The model runs forward, `x_t ~ p(x_t | state)`, `u_{t+1} = x_t`. With --prime_midi, it first
reads the file's first --prime_frames frames (latent models through their inference network)
and continues from there; the written piece is the primer followed by the continuation. The
same --seed gives the same pieces. --temperature below 1 makes each frame's notes surer
(fewer stray notes), above 1 noisier (`SequenceModel.generate`). MIDI is read and written on
the frame grid of the run's corpus (a JSB-trained model's frames are quarter notes;
srnn_tf.data.grid), and a primer is transposed to C major / minor when the corpus's pieces
were; --frames_per_quarter, --tempo and --notranspose_primer override.
"""

import os

from absl import flags
from absl import logging

from srnn_tf import audio, cli, limits

_RUN = cli.run_flag()
_NUM_PIECES = flags.DEFINE_integer('num_pieces', 4, 'Pieces to sample (without a primer).',
                                   lower_bound=1, upper_bound=10_000)
_NUM_STEPS = flags.DEFINE_integer('num_steps', 128, 'Frames to generate per piece.',
                                  lower_bound=1)
_MAX_STEPS = flags.DEFINE_integer('max_num_steps', 100_000, 'Refuse a --num_steps (plus '
                                  '--burn_in) above this: the pieces are held in memory.',
                                  lower_bound=1)
_SEED = cli.seed_flag()
_BURN_IN = flags.DEFINE_integer(
    'burn_in', 0, 'Without a primer: generate this many frames more and drop them. The first '
    'frames from silence are the least typical (under the paper\'s stateful training the model '
    'sees a fresh start only once per stream and epoch).', lower_bound=0)
_TEMPERATURE = cli.positive('temperature', 1.0, 'Divides the emission\'s logits (a NADE\'s '
                            'conditional ones, key by key): below 1 surer frames, above 1 '
                            'noisier; 1 samples the model itself.', kind=float)
_PRIME = flags.DEFINE_string('prime_midi', None, 'MIDI file to continue.')
_PRIME_FRAMES = flags.DEFINE_integer('prime_frames', 32, 'Frames of the primer to read.',
                                     lower_bound=1)
_PROGRAM = flags.DEFINE_integer('program', 0, 'General MIDI program (0: piano).',
                                lower_bound=0, upper_bound=127)
_WAV = flags.DEFINE_bool('wav', True, 'Also render audio files (needs fluidsynth).')
_AUDIO_FORMAT = flags.DEFINE_enum('audio_format', 'wav', audio.FORMATS,
                                  'Audio file type: oga (Ogg Vorbis) is about a tenth of '
                                  'the WAV\'s size.')
_OUTPUT_DIR = cli.output_dir_flag('<run>/samples')
_GRID = cli.GridFlags()


def main(argv):
  del argv
  import numpy as np
  from srnn_tf import files, plots, rundir
  from srnn_tf.data import midi
  if _BURN_IN.value + _NUM_STEPS.value > _MAX_STEPS.value:
    return cli.fail(f'--num_steps={_NUM_STEPS.value} (+ --burn_in={_BURN_IN.value}) exceeds '
                    f'the limit of {_MAX_STEPS.value} frames (raise it with --max_num_steps)')
  frames = _BURN_IN.value + _NUM_STEPS.value
  pieces = 1 if _PRIME.value else _NUM_PIECES.value
  limits.sampled_frames(pieces, frames, f'--num_pieces={pieces} x {frames} frames')
  run = _RUN.load()
  model, grid = run.model, _GRID.apply(run.grid)
  out = _OUTPUT_DIR.value or run.output_path('samples')
  rundir.check_output_dir(out)
  prefix = None
  if _PRIME.value:
    read, shift = midi.read_on_grid(_PRIME.value, grid, _GRID.transpose)
    if shift:
      logging.info('primer transposed by %+d semitones to C (the corpus\'s key)', shift)
    prefix = read.roll[:_PRIME_FRAMES.value].astype(np.float32)
    pieces = model.generate(_NUM_STEPS.value, seed=(_SEED.value, 0), prime=prefix[None],
                            temperature=_TEMPERATURE.value).numpy()
  else:
    pieces = model.generate(_BURN_IN.value + _NUM_STEPS.value, _NUM_PIECES.value,
                            seed=(_SEED.value, 0),
                            temperature=_TEMPERATURE.value).numpy()[:, _BURN_IN.value:]
  # Samples at another temperature get names of their own instead of replacing these.
  tempered = '' if _TEMPERATURE.value == 1 else f'_t{_TEMPERATURE.value:g}'
  described = '' if _TEMPERATURE.value == 1 else f', temperature {_TEMPERATURE.value:g}'
  wav_problem = audio.unavailable_reason() if _WAV.value else None
  if wav_problem:
    logging.warning('Not writing audio files: %s', wav_problem)
  ext = '.' + _AUDIO_FORMAT.value
  for i, piece in enumerate(pieces):
    roll = np.concatenate([prefix, piece]) if prefix is not None else piece
    name = os.path.join(out, f'sample_seed{_SEED.value}{tempered}_{i}')
    # Each file written beside itself and renamed into place (an interrupted render leaves
    # the previous file or none, never a truncated one).
    with files.atomic_path(name + '.mid') as tmp:
      midi.write_midi(roll.astype(np.uint8), tmp, frames_per_quarter=grid.frames_per_quarter,
                      tempo=grid.tempo, program=_PROGRAM.value)
    title = (f'{run.name}: sample {i}, seed {_SEED.value}'
             + described
             + (f' (first {len(prefix)} frames: primer)' if prefix is not None else ''))
    with files.atomic_path(name + '.png') as tmp:
      plots.save_piano_rolls(tmp, [roll], [title])
    if _WAV.value and not wav_problem:
      with files.atomic_path(name + ext) as tmp:
        audio.render(name + '.mid', tmp)
    print(f'wrote {name}.mid, .png' + ('' if wav_problem or not _WAV.value else ', ' + ext))
  return 0


def run():
  """The `srnn-generate` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
