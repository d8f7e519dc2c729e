"""The package's metadata: console scripts that exist, one version, pytest from the root."""

import pathlib
import subprocess
import sys
import tomllib

import pytest

import srnn_tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / 'pyproject.toml').read_text())


@pytest.mark.parametrize('name, target', sorted(PROJECT['project']['scripts'].items()))
def test_console_script_answers_help(name, target):
  """Each console script's target exists and runs: absl answers `--helpshort` with its usage
  (and exit status 1, as absl does for help)."""
  module, attr = target.split(':')
  code = (f'import sys; sys.argv = ["{name}", "--helpshort"]; import {module} as m; '
          f'm.{attr}()')
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
  assert f'USAGE: {name}' in result.stdout + result.stderr, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr


def test_metadata():
  assert PROJECT['tool']['setuptools']['dynamic']['version']['attr'] == 'srnn_tf.__version__'
  assert srnn_tf.__version__.count('.') == 2
  assert (ROOT / 'LICENSE').read_text().lstrip().startswith('Apache License')
  assert 'Fraccaro' in (ROOT / 'CITATION.cff').read_text()
  assert PROJECT['tool']['pytest']['ini_options']['pythonpath'] == ['.']


def test_every_module_imports_on_its_own():
  """No import cycle: each module of the package, imported first in a fresh package state
  (TensorFlow stays loaded; srnn_tf and the flags its scripts define are forgotten before
  each), imports."""
  import pkgutil
  modules = sorted(m.name for m in pkgutil.walk_packages(srnn_tf.__path__, 'srnn_tf.')
                   if not m.name.endswith('__main__'))
  assert {'srnn_tf.smc', 'srnn_tf.bounds', 'srnn_tf.features', 'srnn_tf.rundir',
          'srnn_tf.models.base'} <= set(modules)
  code = f"""
import importlib, os, sys
os.environ['SRNN_TF_LAZY_MODELS'] = '1'   # Keras stays loaded: no registration on import
import tensorflow
from absl import flags
for name in {modules!r}:
  for loaded in [m for m in sys.modules if m == 'srnn_tf' or m.startswith('srnn_tf.')]:
    del sys.modules[loaded]
  ours = [flag.name for module, defined in list(flags.FLAGS.flags_by_module_dict().items())
          if module.startswith('srnn_tf.') for flag in defined]
  for flag in set(ours):   # the scripts define flags at import
    if flag in flags.FLAGS:
      delattr(flags.FLAGS, flag)
  importlib.import_module(name)
print('imported', len({modules!r}))
"""
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'imported {len(modules)}' in result.stdout


def test_dependency_floors_exclude_keras_releases_with_safe_mode_bypasses():
  """Run folders are shared and their model files loaded in Keras's safe mode: the floor is
  past the last release with a published way around it (CVE-2026-1462, fixed in 3.13.2), and
  the pinned version satisfies it."""
  floors = {d.split('>=')[0]: d.split('>=')[1] for d in PROJECT['project']['dependencies']
            if '>=' in d}
  version = lambda text: tuple(int(part) for part in text.split('.'))
  assert version(floors['keras']) >= (3, 13, 2)
  pins = dict(line.split('==') for line in (ROOT / 'requirements.txt').read_text().splitlines()
              if '==' in line and not line.startswith('#'))
  assert version(pins['keras']) >= version(floors['keras'])


def test_the_light_modules_load_neither_tensorflow_nor_pretty_midi():
  """The keyboard's constants have a module of their own: music statistics and the rewards
  (and the keyboard) import without TensorFlow or the MIDI library."""
  code = """
import sys
import srnn_tf.keyboard, srnn_tf.music_stats, srnn_tf.rl.rewards
print(sorted(m for m in ('tensorflow', 'pretty_midi', 'keras') if m in sys.modules))
"""
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == '[]'
