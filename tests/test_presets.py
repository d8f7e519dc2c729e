"""The presets shipped with the package: every one reloaded in a fresh process reproduces the
score its card recorded and samples; the cards say what a user needs; `--preset` works where
`--run` does; a preset's weights load by path and refuse a mismatch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from srnn_tf import presets
from srnn_tf.errors import UserError

NAMES = presets.names()
# The budget for all presets together, and what every card must say.
MAX_TOTAL_BYTES = 25 * 2 ** 20
CARD_FIELDS = ('name', 'title', 'dtype', 'parameters', 'numbers', 'check', 'config',
               'keras_config', 'grid', 'training', 'data_licence', 'weights_bytes')


def test_presets_are_installed_and_small():
  assert NAMES, 'no preset in srnn_tf/presets'
  total = sum(os.path.getsize(os.path.join(presets.folder(n), presets.WEIGHTS_NPZ))
              for n in NAMES)
  assert total <= MAX_TOTAL_BYTES, f'{total / 2 ** 20:.1f} MiB of presets'


@pytest.mark.parametrize('name', NAMES)
def test_card_says_what_a_user_needs(name):
  card = presets.card(name)
  missing = [f for f in CARD_FIELDS if f not in card.fields]
  assert not missing, missing
  for split in ('valid', 'test'):
    numbers = card.numbers[split]
    # Both conventions, and a per-sequence mean is not the total / total.
    assert numbers['per_step'] < 0 and numbers['total_per_step'] < 0
    assert numbers['bound'] in ('exact', 'smc100')
  assert card.fields['training']['command'].startswith('python train.py')
  assert card.dtype in ('float16', 'float32')
  # str() is what `presets.list()` shows: the name and the test number, a line each.
  assert name in str(card) and f'{card.numbers["test"]["total_per_step"]:.3f}' in str(card)
  assert str(card) in str(presets.list()).splitlines()


def test_unknown_preset_is_one_line_naming_the_choices():
  with pytest.raises(UserError, match=r'--preset=nope: no such preset; choose one of '):
    presets.folder('nope')
  with pytest.raises(UserError, match='no such preset'):
    presets.folder('../presets')


# One fresh process for all presets (TensorFlow's import is most of its time): each reloaded
# as a user would, scored on its card's slice of the test split, and sampled.
_FRESH = r'''
import json, sys
import numpy as np
from srnn_tf import presets
from srnn_tf.data import corpus as corpus_lib
out = {}
for name in sys.argv[2:]:
  card = presets.card(name)
  model = presets.load(name, compile=False)
  check = card.fields['check']
  data = corpus_lib.load_corpus(card.dataset, card.data_version, sys.argv[1])
  pieces = [np.asarray(p[:check['frames']], np.float32)
            for p in data.splits[check['split']][:check['pieces']]]
  frames = max(len(p) for p in pieces)
  x = np.zeros([len(pieces), frames, 88], np.float32)
  mask = np.zeros([len(pieces), frames], np.float32)
  for i, p in enumerate(pieces):
    x[i, :len(p)], mask[i, :len(p)] = p, 1.0
  scores = model.score({'x': x, 'mask': mask}, seed=tuple(check['seed']))
  sample = model.generate(num_steps=16, batch_size=2, seed=(3, 4)).numpy()
  again = model.generate(num_steps=16, batch_size=2, seed=(3, 4)).numpy()
  out[name] = {'elbo_per_step': scores['elbo_per_step'].numpy().tolist(),
               'sample_shape': list(sample.shape), 'binary': bool(np.isin(sample, (0, 1)).all()),
               'same_seed_same_sample': bool((sample == again).all())}
print(json.dumps(out))
'''


def test_every_preset_reproduces_its_card_in_a_fresh_process(data_dir):
  result = subprocess.run([sys.executable, '-c', _FRESH, str(data_dir), *NAMES], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  got = json.loads(result.stdout.strip().splitlines()[-1])
  for name in NAMES:
    recorded = presets.card(name).fields['check']['elbo_per_step']
    np.testing.assert_allclose(got[name]['elbo_per_step'], recorded, atol=1e-4, err_msg=name)
    assert got[name]['sample_shape'] == [2, 16, 88] and got[name]['binary'], name
    assert got[name]['same_seed_same_sample'], name


def test_weights_load_by_path_and_refuse_a_mismatch():
  import keras
  from srnn_tf import configs
  from srnn_tf.models import factory
  config = configs.get_config('small', model='rnn')
  model = factory.build(config, 1)
  model.build()
  arrays = presets.weight_arrays(model, 'float16')
  assert all(a.dtype == np.float16 for a in arrays.values() if a.dtype.kind == 'f')
  other = factory.build(config, 1)
  other.build()
  presets.assign_weights(other, arrays, 'w.npz')
  for mine, theirs in zip(model.weights, other.weights):
    np.testing.assert_array_equal(np.asarray(mine.numpy(), np.float16),
                                  np.asarray(theirs.numpy(), np.float16))
  first = next(iter(arrays))
  with pytest.raises(UserError, match='w.npz: does not fit its model'):
    presets.assign_weights(other, {k: v for k, v in arrays.items() if k != first}, 'w.npz')
  with pytest.raises(UserError, match=r'w.npz: .* has shape'):
    presets.assign_weights(other, {**arrays, first: np.zeros([1, 2, 3])}, 'w.npz')
  del keras


def test_generate_script_takes_a_preset(tmp_path):
  """`srnn-generate --preset=NAME` as the README's user runs it: no data, MIDI out."""
  import pretty_midi
  name = NAMES[0]
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'generate.py'), f'--preset={name}', '--num_pieces=1',
       '--num_steps=16', f'--output_dir={tmp_path}'],
      cwd=tmp_path, capture_output=True, text=True, timeout=300,
      env={**os.environ, 'SRNN_TF_DATA_DIR': str(tmp_path / 'no-data')})
  assert result.returncode == 0, result.stderr[-2000:]
  midis = sorted(p for p in os.listdir(tmp_path) if p.endswith('.mid'))
  assert midis, os.listdir(tmp_path)
  pretty_midi.PrettyMIDI(str(tmp_path / midis[0]))


def test_run_and_preset_are_exclusive(tmp_path):
  for flags, message in ((['--run=x', '--preset=y'], 'give either --run'),
                         ([], 'give either --run'),
                         (['--preset=nope'], '--preset=nope: no such preset')):
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'eval.py'), *flags],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-1500:]
    assert 'Traceback' not in result.stderr
