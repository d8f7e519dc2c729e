"""Writes a preset (`srnn_tf.presets`) from a finished run: its weights, in float16 where the
validation number moves by no more than --float16_tolerance, and its card, with the numbers
measured here on the stored weights (the test split read once, for this final model).

    python -m experiments.make_preset --run=runs/jsb_boulanger_rnn_nade150_... \
        --name=jsb_rnn_nade --title='RNN-NADE, JSB Chorales (Boulanger splits)'

A preset is replaced only by a better one (a higher validation number) unless --replace.
"""

import dataclasses
import os
import shlex
import time

from absl import flags

from srnn_tf import cli

_RUN = flags.DEFINE_string('run', None, 'The finished run folder.', required=True)
_NAME = flags.DEFINE_string('name', None, 'The preset\'s name (its folder).', required=True)
_TITLE = flags.DEFINE_string('title', None, 'One line: the model and corpus.', required=True)
_COMMAND = flags.DEFINE_string('command', None, 'The command that trained the run (default: '
                               'train.py with the run config\'s flags).')
_OUTPUT = flags.DEFINE_string('output', os.path.join('srnn_tf', 'presets'), 'Presets folder.')
_TOLERANCE = flags.DEFINE_float('float16_tolerance', 0.002, 'Largest change of the validation '
                                'number (nats per frame, total / total) float16 may cause.')
_PARTICLES = flags.DEFINE_integer('num_particles', 100, 'SMC particles for latent models.')
_REPLACE = flags.DEFINE_bool('replace', False, 'Replace an existing preset even if its '
                             'validation number is better.')

# The slice of the test split whose scores the card records, for the test that reloads each
# preset: the first pieces, cut to a few bars.
CHECK_PIECES, CHECK_FRAMES = 3, 64

# What is known of each corpus's terms. Boulanger-Lewandowski et al. published the piano rolls
# for research without a licence of their own; the source collections' terms apply.
LICENCES = {
    'jsb': 'Bach\'s chorales (public domain as compositions), as encoded in the piano rolls '
           'Boulanger-Lewandowski et al. (2012) published for research, without a stated '
           'licence.',
    'nottingham': 'The Nottingham Music Database of folk tunes, as rendered in the piano rolls '
                  'Boulanger-Lewandowski et al. (2012) published for research, without a '
                  'stated licence.',
    'muse': 'MuseData (CCARH, Stanford), as rendered in the piano rolls Boulanger-Lewandowski '
            'et al. (2012) published for research; MuseData\'s own terms of use apply.',
    'piano': 'Piano-midi.de (Bernd Krueger), as rendered in the piano rolls '
             'Boulanger-Lewandowski et al. (2012) published for research; the site publishes '
             'its files under Creative Commons BY-SA (Germany).',
}


def _numbers(model, corpus, latent: bool) -> dict:
  """Validation and test numbers: exact log-likelihood (the RNN's ELBO is exact), or the
  ELBO and SMC (K = --num_particles) for a latent model; both conventions."""
  from srnn_tf import bounds
  evaluator = bounds.Evaluator(model)
  out = {}
  for split in ('valid', 'test'):
    model.reseed(bounds.evaluation_stream(split))
    elbo = evaluator.evaluate_elbo(corpus.splits[split], progress=False)
    entry = {'elbo_per_step': elbo['elbo_per_step'],
             'elbo_total_per_step': elbo['elbo_total_per_step'],
             'sequences': elbo['sequences'], 'frames': elbo['frames']}
    if latent:
      smc = evaluator.evaluate_bound(corpus.splits[split], 'smc', _PARTICLES.value,
                                     progress=False)
      entry.update(bound=f'smc{_PARTICLES.value}', per_step=smc['log_p_per_step'],
                   total_per_step=smc['log_p_total_per_step'])
    else:
      entry.update(bound='exact', per_step=elbo['elbo_per_step'],
                   total_per_step=elbo['elbo_total_per_step'])
    out[split] = entry
  return out


def _check(model, corpus) -> dict:
  """`model.score` on the fixed slice of the test split (seed (0, 0))."""
  import numpy as np
  pieces = [np.asarray(p[:CHECK_FRAMES], np.float32) for p in corpus.splits['test'][:CHECK_PIECES]]
  frames = max(len(p) for p in pieces)
  batch = np.zeros([len(pieces), frames, pieces[0].shape[1]], np.float32)
  mask = np.zeros([len(pieces), frames], np.float32)
  for i, p in enumerate(pieces):
    batch[i, :len(p)], mask[i, :len(p)] = p, 1.0
  scores = model.score({'x': batch, 'mask': mask}, seed=(0, 0))
  return {'split': 'test', 'pieces': len(pieces), 'frames': CHECK_FRAMES, 'seed': [0, 0],
          'elbo_per_step': [float(v) for v in scores['elbo_per_step'].numpy()]}


def main(argv):
  del argv
  from srnn_tf import files, presets
  run = cli.load_run(_RUN.value)
  import numpy as np
  model, config, summary = run.model, run.config, run.summary or {}
  folder = os.path.join(_OUTPUT.value, _NAME.value)
  card_path = os.path.join(folder, presets.CARD_JSON)
  start = time.perf_counter()
  corpus = run.corpus()
  latent = model.latent_size() > 0
  full = _numbers(model, corpus, latent)
  print(f'float32: valid {full["valid"]["total_per_step"]:.4f}, test '
        f'{full["test"]["total_per_step"]:.4f} (total/total, {full["test"]["bound"]})')

  arrays32 = presets.weight_arrays(model)
  arrays16 = presets.weight_arrays(model, 'float16')
  presets.assign_weights(model, arrays16, 'float16 weights')
  model.reseed(0)
  half = _numbers(model, corpus, latent)
  moved = abs(half['valid']['total_per_step'] - full['valid']['total_per_step'])
  dtype = 'float16' if moved <= _TOLERANCE.value else 'float32'
  print(f'float16: valid {half["valid"]["total_per_step"]:.4f} (moved {moved:.4f}): storing '
        f'{dtype}')
  stored, numbers = (arrays16, half) if dtype == 'float16' else (arrays32, full)
  presets.assign_weights(model, stored, 'stored weights')

  if os.path.exists(card_path) and not _REPLACE.value:
    old = files.read_json(card_path)
    if old['numbers']['valid']['total_per_step'] >= numbers['valid']['total_per_step']:
      return cli.fail(f'{card_path}: the preset there is as good or better on validation '
                      f'({old["numbers"]["valid"]["total_per_step"]:.4f} against '
                      f'{numbers["valid"]["total_per_step"]:.4f}); --replace to replace it')

  command = _COMMAND.value or shlex.join(['python', 'train.py', *cli.config_argv(config)])
  card = {
      'name': _NAME.value,
      'title': _TITLE.value,
      'dtype': dtype,
      # As the tables count them: every weight of the model (`run.json`'s).
      'parameters': int(summary.get('parameters') or sum(np.prod(v.shape) for v in model.weights)),
      'numbers': numbers,
      'numbers_float32': full,
      'conventions': {'per_step': 'each sequence\'s log-likelihood (or bound) / its length, '
                                  'mean over sequences (the SRNN paper\'s)',
                      'total_per_step': 'total over the split / total frames (Boulanger et '
                                        'al.\'s; RNN-NADE\'s and Johnson\'s)'},
      'check': _check(model, corpus),
      'config': dataclasses.asdict(config),
      'keras_config': model.get_config(),
      'grid': run.grid.to_dict(),
      'steps_per_epoch': summary.get('steps_per_epoch'),
      'training': {'epochs_trained': summary.get('epochs_trained'),
                   'kept_epoch': summary.get('kept_epoch'),
                   'train_steps_per_sec_median': summary.get('train_steps_per_sec_median'),
                   'command': command, 'source_run': os.path.basename(os.path.normpath(
                       _RUN.value))},
      'data_licence': LICENCES.get(config.dataset, 'the user\'s own data'),
      'evaluation_seconds': round(time.perf_counter() - start, 1),
  }
  os.makedirs(folder, exist_ok=True)
  with files.atomic_path(os.path.join(folder, presets.WEIGHTS_NPZ)) as tmp:
    with open(tmp, 'wb') as f:
      np.savez_compressed(f, **stored)
  size = os.path.getsize(os.path.join(folder, presets.WEIGHTS_NPZ))
  card['weights_bytes'] = size
  files.write_json(card_path, card)   # last: a preset is there once its card is
  print(f'wrote {folder}: {size / 1e6:.2f} MB of {dtype} weights; test '
        f'{numbers["test"]["total_per_step"]:.4f} (total/total), '
        f'{numbers["test"]["per_step"]:.4f} (per sequence), {numbers["test"]["bound"]}')
  return 0


if __name__ == '__main__':
  cli.run(main)
