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
