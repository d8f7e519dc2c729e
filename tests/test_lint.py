"""The code passes its linter configuration (`[tool.ruff]` in pyproject.toml): pyflakes,
pycodestyle and bugbear at the code's own style."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ruff_check_passes():
  result = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--no-cache',
                           '--output-format=concise', str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT)
  assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
