"""Does a model expect a frame to repeat as often as the music does?

    python -m experiments.repetition --runs=runs/jsb_srnn2016_rnn_nade150_..._keepbest \
--dataset=jsb --data_version=srnn2016

For each RNN run (the model whose predictive distribution is exact), reads every held-out
piece and averages the model's probability that frame `t` repeats frame `t - 1` exactly,
given the true frames before it:

    P(x_t = x_{t-1} | x_{<t}) = p(x_{t-1} | d_t),   t = 2 .. T,

the emission's likelihood of the previous frame. A model that matches the music's
repetition puts as much probability on repeats, on average, as the held-out frames repeat
(a calibrated forecast of the event); `sample_stats` counts the repeats of its free-running
samples. The average is also given over the frames that do repeat and those that do not,
and with `--period=P` per phase of the frame index (`t mod P`, frames counted from 0): on
srnn2016 JSB, two frames per quarter note, `--period=2` separates the two eighths of each
beat (which is which depends on where the piece starts). Without `--runs` it reports the
held-out data alone, and with `--period` how many pieces are a whole number of periods long: a
phase counted along pieces laid end to end (the srnn2016 training streams, which keep no
piece boundaries) stays aligned only across those. Writes `<output>.json` and `<output>.md`.
"""

import json
import os

import numpy as np
from absl import flags

from srnn_tf import cli
from srnn_tf.data import registry
from srnn_tf.errors import UserError

def repeat_probabilities(model, roll) -> np.ndarray:
  """`P(x_t = x_{t-1} | x_{<t})` for `t = 2 .. T` of one piece `roll` `[T, 88]`: `[T - 1]`.

  The model scores the previous frames as targets (`x := u`, `u_t = x_{t-1}`): for a model
  without latent variables its `log_px` is then `log p(x_{t-1} | d_t)` at every step.
  """
  x = np.asarray(roll, np.float32)[None]
  u = np.pad(x[:, :-1], [(0, 0), (1, 0), (0, 0)])
  log_px = model.compute_terms({'x': u, 'u': u, 'mask': np.ones(x.shape[:2], np.float32)})
  return np.exp(log_px['log_px'].numpy()[0, 1:])


def _summary(p, r) -> dict:
  """Repeat probabilities `p` against the repeats `r` (bool) of the same frames."""
  return {'frames': int(len(p)), 'repeated_share': float(r.mean()),
          'mean_repeat_probability': float(p.mean()),
          'on_repeated_frames': float(p[r].mean()) if r.any() else None,
          'on_other_frames': float(p[~r].mean()) if (~r).any() else None}


def _repeats(rolls):
  """Over the frames of `rolls` that have a predecessor: whether each repeats it (bool) and
  its index `t` in its piece, both `[sum of (T_i - 1)]`."""
  return (np.concatenate([np.all(roll[1:] == roll[:-1], axis=1) for roll in rolls]),
          np.concatenate([np.arange(1, len(roll)) for roll in rolls]))


def data_summary(rolls, period=1) -> dict:
  """The repeats of `rolls` alone (as `probe` without a model): frames that have a
  predecessor and the share that repeat it, per phase `t mod period` under `'by_phase'`, and
  `'pieces'` and `'whole_periods'`, the share of pieces whose length is a multiple of
  `period`."""
  r, t = _repeats(rolls)
  result = {'frames': int(len(r)), 'repeated_share': float(r.mean()), 'pieces': len(rolls),
            'whole_periods': float(np.mean([len(roll) % period == 0 for roll in rolls]))}
  if period > 1:
    result['by_phase'] = [{'phase': k, 'frames': int(np.sum(t % period == k)),
                           'repeated_share': float(r[t % period == k].mean())}
                          for k in range(period)]
  return result


def probe(model, rolls, period=1) -> dict:
  """The mean repeat probability over `rolls`' frames that have a predecessor, overall and
  over the frames that repeat / do not, beside the share of those frames that repeat; with
  `period` > 1, the same per phase `t mod period` under `'by_phase'`."""
  p = np.concatenate([repeat_probabilities(model, roll) for roll in rolls])
  r, t = _repeats(rolls)
  result = _summary(p, r)
  if period > 1:
    result['by_phase'] = [{'phase': k, **_summary(p[t % period == k], r[t % period == k])}
                          for k in range(period)]
  return result


def define_flags():
  """The script's flags (defined only when it runs, so that tests can import the probe)."""
  flags.DEFINE_list('runs', [], 'RNN run directories (or .keras files); none: the data '
                    'alone.')
  flags.DEFINE_string('dataset', 'jsb', 'Corpus of the held-out pieces.')
  flags.DEFINE_enum('data_version', 'srnn2016', registry.VERSIONS, 'Data version.')
  flags.DEFINE_enum('split', 'test', ['valid', 'test'], 'Held-out split.')
  flags.DEFINE_integer('period', 1, 'Also split the frames by their index mod this (2 on '
                       'srnn2016 JSB: the two eighths of a quarter note).', lower_bound=1)
  cli.data_dir_flag()
  flags.DEFINE_string('output', None, 'Output path without extension (default: '
                      'results/music/repetition_<dataset>_<version>).')


def main(argv):
  del argv
  f = flags.FLAGS
  from srnn_tf.data import corpus as corpus_lib
  held_out = corpus_lib.load_corpus(f.dataset, f.data_version, f.data_dir).splits[f.split]
  rows = {}
  for path in f.runs:
    run = cli.load_run(path)
    if run.config is not None and run.config.model != 'rnn':
      raise UserError(f'{path}: a {run.config.model.upper()} run; the probe is exact for '
                      'the RNN only (a latent model\'s predictive distribution is an integral)')
    rows[os.path.basename(os.path.normpath(path))] = probe(run.model, held_out, f.period)
  data = data_summary(held_out, f.period)
  output = f.output or os.path.join('results', 'music', f'repetition_{f.dataset}_'
                                    f'{f.data_version}' + ('' if rows else '_data'))
  os.makedirs(os.path.dirname(output) or '.', exist_ok=True)
  with open(f'{output}.json', 'w') as out:
    json.dump({'dataset': f.dataset, 'data_version': f.data_version, 'split': f.split,
               'period': f.period, 'data': data, 'runs': rows}, out, indent=1)
  lines = [f'Repeated frames, {f.dataset} ({f.data_version}, {f.split} split): the '
           'share of frames equal to the frame before, and each model\'s mean probability of '
           'that given the true frames before (`python -m experiments.repetition`).', '',
           '| run | frames | repeated share | mean P(repeat) | on repeated frames '
           '| on other frames |', '|---|---|---|---|---|---|']
  for name, result in [('the data', data)] + list(rows.items()):
    for label, row in [(name if result is data else f'`{name}`', result)] + [
        (f'frames t mod {f.period} = {phase["phase"]}', phase)
        for phase in result.get('by_phase', [])]:
      cells = [f'{row[k]:.3f}' if row.get(k) is not None else '' for k in (
          'repeated_share', 'mean_repeat_probability', 'on_repeated_frames', 'on_other_frames')]
      lines.append(f'| {label} | {row["frames"]:,} | ' + ' | '.join(cells) + ' |')
  if f.period > 1:
    lines += ['', f'{data["whole_periods"]:.1%} of the {data["pieces"]} pieces are a whole '
              f'number of {f.period}-frame periods long. Along pieces laid end to end, a phase '
              'counted from the first frame slips against the pieces\' own at the end of each '
              'of the others.']
  with open(f'{output}.md', 'w') as out:
    out.write('\n'.join(lines) + '\n')
  print('\n'.join(lines))
  return 0


if __name__ == '__main__':
  define_flags()
  cli.run(main)
