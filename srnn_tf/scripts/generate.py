"""Sample music from a trained model: MIDI files, piano-roll PNGs, and WAVs when fluidsynth
and a General MIDI soundfont are installed.

    python generate.py --run=runs/jsb_srnn2016_srnn_z100_d300 --num_pieces=4 --num_steps=128
    python generate.py --run=runs/... --prime_midi=song.mid --prime_frames=32 --seed=3

The model runs forward, `x_t ~ Bernoulli`, `u_{t+1} = x_t`. With --prime_midi, it first reads
the file's first --prime_frames frames (latent models through their inference network) and
continues from there; the written piece is the primer followed by the continuation. The same
--seed gives the same pieces.
"""

import os

from absl import flags
from absl import logging

from srnn_tf import cli

_RUN = flags.DEFINE_string('run', None, 'Run directory or .keras file.', required=True)
_NUM_PIECES = flags.DEFINE_integer('num_pieces', 4, 'Pieces to sample (without a primer).',
                                   lower_bound=1, upper_bound=10_000)
_NUM_STEPS = flags.DEFINE_integer('num_steps', 128, 'Frames to generate per piece.',
                                  lower_bound=1)
_MAX_STEPS = flags.DEFINE_integer('max_num_steps', 100_000, 'Refuse a --num_steps (plus '
                                  '--burn_in) above this: the pieces are held in memory.',
                                  lower_bound=1)
_SEED = flags.DEFINE_integer('seed', 0, 'Random seed.')
_BURN_IN = flags.DEFINE_integer(
    'burn_in', 0, 'Without a primer: generate this many frames more and drop them. The first '
    'frames from silence are the least typical (under the paper\'s stateful training the model '
    'sees a fresh start only once per stream and epoch).', lower_bound=0)
_PRIME = flags.DEFINE_string('prime_midi', None, 'MIDI file to continue.')
_PRIME_FRAMES = flags.DEFINE_integer('prime_frames', 32, 'Frames of the primer to read.',
                                     lower_bound=1)
_FPQ = flags.DEFINE_integer('frames_per_quarter', 4, 'Frames per quarter note (MIDI grid).',
                            lower_bound=1)
_TEMPO = flags.DEFINE_float('tempo', 100.0, 'Tempo of the written MIDI, quarter notes/min.',
                            lower_bound=1e-3)
_PROGRAM = flags.DEFINE_integer('program', 0, 'General MIDI program (0: piano).',
                                lower_bound=0, upper_bound=127)
_WAV = flags.DEFINE_bool('wav', True, 'Also render WAV files (needs fluidsynth).')
_OUTPUT_DIR = flags.DEFINE_string('output_dir', None, 'Default: <run>/samples.')


def main(argv):
  del argv
  import numpy as np
  from srnn_tf import audio, midi, plots, rundir
  if _BURN_IN.value + _NUM_STEPS.value > _MAX_STEPS.value:
    return cli.fail(f'--num_steps={_NUM_STEPS.value} (+ --burn_in={_BURN_IN.value}) exceeds '
                    f'the limit of {_MAX_STEPS.value} frames (raise it with --max_num_steps)')
  model, _ = rundir.load_run(_RUN.value)
  run_dir = rundir.run_dir(_RUN.value)
  out = _OUTPUT_DIR.value or os.path.join(run_dir, 'samples')
  rundir.check_output_dir(out)
  prefix = None
  if _PRIME.value:
    roll = midi.read_midi(_PRIME.value, _FPQ.value).roll
    prefix = roll[:_PRIME_FRAMES.value].astype(np.float32)
    pieces = model.generate(_NUM_STEPS.value, seed=(_SEED.value, 0),
                            prime=prefix[None]).numpy()
  else:
    pieces = model.generate(_BURN_IN.value + _NUM_STEPS.value, _NUM_PIECES.value,
                            seed=(_SEED.value, 0)).numpy()[:, _BURN_IN.value:]
  wav_problem = audio.unavailable_reason() if _WAV.value else None
  if wav_problem:
    logging.warning('Not writing WAV files: %s', wav_problem)
  for i, piece in enumerate(pieces):
    roll = np.concatenate([prefix, piece]) if prefix is not None else piece
    name = os.path.join(out, f'sample_seed{_SEED.value}_{i}')
    midi.write_midi(roll.astype(np.uint8), name + '.mid', frames_per_quarter=_FPQ.value,
                    tempo=_TEMPO.value, program=_PROGRAM.value)
    title = (f'{os.path.basename(os.path.normpath(run_dir))}: sample {i}, seed {_SEED.value}'
             + (f' (first {len(prefix)} frames: primer)' if prefix is not None else ''))
    plots.save_piano_rolls(name + '.png', [roll], [title])
    if _WAV.value and not wav_problem:
      audio.render_wav(name + '.mid', name + '.wav')
    print(f'wrote {name}.mid, .png' + ('' if wav_problem or not _WAV.value else ', .wav'))
  return 0


def run():
  """The `srnn-generate` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
