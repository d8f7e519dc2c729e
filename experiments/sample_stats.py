"""Sample quality: music statistics of generated pieces against held-out data.

    python -m experiments.sample_stats --runs=runs/jsb_srnn2016_srnn_z100_d300,\
runs/jsb_srnn2016_vrnn_z100_d300,runs/jsb_srnn2016_rnn_d300 --dataset=jsb \
--data_version=srnn2016

Samples `--num_pieces` pieces of `--num_steps` frames from each run (seeded, from silence),
computes the statistics of `srnn_tf.music_stats` (notes per frame, pitch range and
histogram, pitch classes, note durations, repeated frames) for the samples and for the
held-out split, and writes `<output>.md` (a table), `<output>.png` (one figure with the four
histograms) and `<output>.json`. Distances are total-variation distances from the held-out
histograms (0: identical, 1: disjoint). `--temperatures=1,0.7,0.5` samples every run at each
sampling temperature (`SequenceModel.generate`), one row each ("SRNN, T=0.5").
"""

import json
import os

import numpy as np
from absl import flags

from srnn_tf import cli
from srnn_tf import music_stats
from srnn_tf.data import registry
from srnn_tf.errors import UserError

_RUNS = flags.DEFINE_list('runs', [], 'Run directories (or .keras files) to sample from.')
_INCLUDE = flags.DEFINE_list(
    'include', [], 'Earlier outputs of this script (.json) whose model rows to add, e.g. the '
    'Bernoulli models\' beside the NADE models\' (their weights need not be here); a row of '
    '--runs replaces an included row of the same label. Each must be against the same '
    'held-out pieces and have as many sampled frames as --num_pieces x --num_steps (both '
    'checked).')
_LEAVE_OUT = flags.DEFINE_list(
    'leave_out', [], 'Model rows of the --include files to leave out, by label (e.g. '
    'VRNN-NADE, where another run of that model has been chosen since and --runs samples it).')
_DATASET = flags.DEFINE_string('dataset', 'jsb', 'Corpus of the held-out pieces.')
_VERSION = flags.DEFINE_enum('data_version', 'srnn2016', registry.VERSIONS, 'Data version.')
_SPLIT = flags.DEFINE_enum('split', 'test', ['valid', 'test'], 'Held-out split.')
_DATA_DIR = cli.data_dir_flag()
_NUM_PIECES = flags.DEFINE_integer('num_pieces', 100, 'Pieces sampled per run.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', 128, 'Frames per sampled piece.')
_SEED = cli.seed_flag('Sampling seed.')
_TEMPERATURES = flags.DEFINE_list(
    'temperatures', ['1'], 'Sampling temperatures (positive): every run is sampled at each, '
    'one row per run and temperature; 1 samples the model itself.')
_OUTPUT = flags.DEFINE_string('output', None,
                              'Output path without extension (default: '
                              'results/music/stats_<dataset>_<version>).')


def label_of(run_path, config):
  if config is None:
    return os.path.basename(os.path.normpath(run_path))
  emission = '-NADE' if config.emission == 'nade' else ''
  if config.model != 'srnn':
    return config.model.upper() + emission
  return 'SRNN' + emission + (
      '' if (config.inference, config.resq) == ('smoothing', True)
      else f' ({config.inference}{", no Resq" if not config.resq else ""})')


def temperatures(values) -> list[float]:
  """The --temperatures flag's numbers.

  Raises:
    UserError: one is not a positive number.
  """
  try:
    parsed = [float(v) for v in values]
  except ValueError:
    parsed = []
  if not parsed or min(parsed) <= 0:
    raise UserError(f'--temperatures={",".join(values)}: give positive numbers, e.g. 1,0.5')
  return parsed


def collect(runs, held_out, num_pieces, num_steps, seed, temperatures=(1.0,)):
  """({label: (RollStats, first-frame notes)} for the held-out pieces and every run at every
  temperature (", T=0.5" appended to the label where it is not 1), {label: run name} for the
  runs, {label: `music_stats.stretch_repeats`} of each)."""
  results = {f'held-out ({_SPLIT.value})': (music_stats.roll_stats(held_out),
                                            float(np.mean([r[0].sum() for r in held_out])))}
  # Repeats of stretches grow with a piece's length: the held-out pieces' are counted in
  # windows as long as the samples.
  structure = {next(iter(results)): music_stats.stretch_repeats(
      music_stats.windows(held_out, num_steps))}
  loaded = [(path, cli.load_run(path)) for path in runs]
  labels = [label_of(path, run.config) for path, run in loaded]
  sources = {}
  for (path, run), label in zip(loaded, labels):
    if labels.count(label) > 1:   # runs of one model (a search's candidates): by run name
      label = label_of(path, None)
    for temperature in temperatures:
      tempered = label if temperature == 1 else f'{label}, T={temperature:g}'
      pieces = run.model.generate(num_steps, num_pieces, seed=(seed, 0),
                                  temperature=temperature).numpy()
      results[tempered] = (music_stats.roll_stats(list(pieces)),
                           float(pieces[:, 0].sum(-1).mean()))
      structure[tempered] = music_stats.stretch_repeats(list(pieces))
      sources[tempered] = label_of(path, None)
  return results, sources, structure


def _stats_of(row) -> music_stats.RollStats:
  """The `RollStats` of one row of this script's JSON."""
  h = row['histograms']
  return music_stats.RollStats(
      polyphony=np.asarray(h['polyphony']), pitch=np.asarray(h['pitch']),
      pitch_class=np.asarray(h['pitch_class']), duration=np.asarray(h['duration']),
      repetition=row['repetition'], frames=row['frames'], notes=row.get('notes', 0))


def included(paths, held_out: music_stats.RollStats, frames: int):
  """({label: (RollStats, first-frame notes)} of the model rows of earlier JSON outputs,
  {label: run name} where the row names its run, {label: stretch repeats} where it has them).

  Raises:
    UserError: a file's held-out row is not `held_out`, or a model row's sample is not
      `frames` frames.
  """
  rows, sources, structures = {}, {}, {}
  for path in paths:
    with open(path) as f:
      (_, reference), *models = json.load(f).items()
    if reference['frames'] != held_out.frames or max(
        music_stats.compare(_stats_of(reference), held_out).values()) > 1e-9:
      raise UserError(f'{path}: its statistics are against other held-out pieces than '
                      '--dataset, --data_version and --split give')
    for label, row in models:
      if row['frames'] != frames:
        raise UserError(f'{path}: {label} sampled {row["frames"]:,} frames, not {frames:,} '
                        '(--num_pieces x --num_steps)')
      rows[label] = (_stats_of(row), row['first_frame_notes'])
      if 'stretch_repeats' in row:   # outputs written before it have none
        structures[label] = {int(n): rate for n, rate in row['stretch_repeats'].items()}
      if 'run' in row:
        sources[label] = row['run']
  return rows, sources, structures


def structure_markdown(structure) -> list[str]:
  """The stretch-repeat table's lines (rows that have it: earlier outputs may not)."""
  lines = ['', 'Structure over more than a frame: the share of L-frame stretches (not silent) '
           'that repeat one ending before they start in the same piece; the held-out pieces '
           'cut into windows as long as the samples.', '',
           '| source | ' + ' | '.join(f'{n}-frame repeats' for n in music_stats.STRETCHES) + ' |',
           '|---|' + '---|' * len(music_stats.STRETCHES)]
  for label, rates in structure.items():
    lines.append(f'| {label} | ' + ' | '.join(
        f'{100 * rates[n]:.1f}%' for n in music_stats.STRETCHES) + ' |')
  return lines


def markdown(results, title, sources=None, structure=None):
  reference = next(iter(results.values()))[0]
  lines = [f'# {title}', '',
           'Statistics of sampled pieces against the held-out pieces. TV: total-variation '
           'distance of a histogram from the held-out one (0 identical, 1 disjoint). '
           '"1st frame": mean notes in the first frame.', '',
           '| source | frames | notes/frame | silent | mean pitch (std) | range | '
           'mean duration | repeated frames | 1st frame | TV polyphony | TV pitch | '
           'TV pitch class | TV duration |',
           '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
  for label, (stats, first) in results.items():
    s, d = stats.summary(), music_stats.compare(stats, reference)
    low, high = s['pitch_range'] or (0, 0)
    lines.append(
        f'| {label} | {stats.frames:,} | {s["notes_per_frame"]:.2f} | '
        f'{100 * s["silent_frames"]:.1f}% | {s["mean_pitch"]:.1f} ({s["pitch_std"]:.1f}) | '
        f'{low}-{high} | {s["mean_duration"]:.2f} | {100 * s["repetition"]:.1f}% | '
        f'{first:.1f} | {d["tv_polyphony"]:.3f} | {d["tv_pitch"]:.3f} | '
        f'{d["tv_pitch_class"]:.3f} | {d["tv_duration"]:.3f} |')
  if structure:
    lines += structure_markdown({label: structure[label] for label in results
                                 if label in structure})
  if sources:   # each run once, under its first row's label (its other temperatures follow)
    first_label = {}
    for label, run in sources.items():
      first_label.setdefault(run, label)
    lines += ['', 'Runs: ' + '; '.join(f'{label}: `{run}`' for run, label in first_label.items())]
  return '\n'.join(lines) + '\n'


def figure(results, path, title):
  from srnn_tf import plots   # noqa: F401  (selects the Agg backend)
  import matplotlib.pyplot as plt
  fig, axes = plt.subplots(2, 2, figsize=(13, 8))
  width = 0.8 / len(results)
  # Matplotlib's default cycle repeats after 10 colours; rows per temperature pass that.
  colours = plt.get_cmap('tab10' if len(results) <= 10 else 'tab20').colors
  for i, (label, (stats, _)) in enumerate(results.items()):
    style = dict(label=label, lw=2.5 if i == 0 else 1.5,
                 color='k' if i == 0 else colours[i % len(colours)])
    x = np.arange(music_stats.MAX_POLYPHONY + 1)
    axes[0, 0].bar(x + (i - len(results) / 2 + 0.5) * width, stats.polyphony, width,
                   color=style['color'], label=label)
    axes[0, 1].plot(np.arange(88) + 21, stats.pitch, **style)
    axes[1, 0].bar(np.arange(12) + (i - len(results) / 2 + 0.5) * width, stats.pitch_class,
                   width, color=style['color'], label=label)
    axes[1, 1].plot(np.arange(1, music_stats.MAX_DURATION + 1), stats.duration, **style)
  axes[0, 0].set(title='notes per frame', xlabel=f'notes ({music_stats.MAX_POLYPHONY}: or more)',
                 ylabel='fraction of frames')
  axes[0, 1].set(title='pitch', xlabel='MIDI note', ylabel='fraction of note-frames')
  axes[1, 0].set(title='pitch class', ylabel='fraction of note-frames')
  axes[1, 0].set_xticks(range(12), music_stats.PITCH_CLASS_NAMES)
  axes[1, 1].set(title='note duration', xlabel=f'frames ({music_stats.MAX_DURATION}: or more)',
                 ylabel='fraction of notes', yscale='log')
  fig.suptitle(title)
  if len(results) <= 10:
    axes[0, 0].legend()
    fig.tight_layout()
  else:   # too many rows to fit inside a panel
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc='center right', fontsize='small')
    fig.tight_layout(rect=(0, 0, 0.84, 1))
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv):
  del argv
  from srnn_tf.data import corpus as corpus_lib
  corpus = corpus_lib.load_corpus(_DATASET.value, _VERSION.value, _DATA_DIR.value)
  held_out = [np.asarray(r) for r in corpus.splits[_SPLIT.value]]
  if not _RUNS.value and not _INCLUDE.value:
    raise UserError('nothing to compare: give --runs or --include')
  results, sources, structure = collect(_RUNS.value, held_out, _NUM_PIECES.value,
                                        _NUM_STEPS.value, _SEED.value,
                                        temperatures(_TEMPERATURES.value))
  held_out_label = next(iter(results))
  earlier, earlier_sources, earlier_structure = included(
      _INCLUDE.value, results[held_out_label][0], _NUM_PIECES.value * _NUM_STEPS.value)
  structure = {**earlier_structure, **structure}
  if missing := set(_LEAVE_OUT.value) - set(earlier):
    raise UserError(f'--leave_out={",".join(sorted(missing))}: no such row in --include')
  earlier = {label: row for label, row in earlier.items()
             if label not in _LEAVE_OUT.value and label not in results}
  results = {held_out_label: results.pop(held_out_label), **earlier, **results}
  sources = {label: run for label, run in {**earlier_sources, **sources}.items()
             if label in results}
  output = _OUTPUT.value or os.path.join('results', 'music',
                                         f'stats_{_DATASET.value}_{_VERSION.value}')
  os.makedirs(os.path.dirname(output) or '.', exist_ok=True)
  title = (f'{_DATASET.value} ({_VERSION.value}): {_NUM_PIECES.value} samples of '
           f'{_NUM_STEPS.value} frames per model (seed {_SEED.value}) vs the {_SPLIT.value} '
           'split')
  with open(output + '.md', 'w') as f:
    f.write(markdown(results, title, sources, structure))
  figure(results, output + '.png', title)
  with open(output + '.json', 'w') as f:
    json.dump({label: {**stats.summary(), 'first_frame_notes': first, 'frames': stats.frames,
                       'notes': stats.notes,
                       **music_stats.compare(stats, next(iter(results.values()))[0]),
                       'histograms': {k: getattr(stats, k).tolist() for k in
                                      ('polyphony', 'pitch', 'pitch_class', 'duration')},
                       **({'run': sources[label]} if label in sources else {}),
                       **({'stretch_repeats': structure[label]} if label in structure else {})}
               for label, (stats, first) in results.items()}, f, indent=1)
  print(markdown(results, title, sources, structure))
  print(f'wrote {output}.md, .png, .json')
  return 0


if __name__ == '__main__':
  cli.run(main)
