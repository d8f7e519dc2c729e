"""The README's Python example and the Python guide's run verbatim."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _first_python_block(path: pathlib.Path) -> str:
  blocks = re.findall(r'```python\n(.*?)\n```', path.read_text(), flags=re.S)
  assert blocks, f'{path}: no python example'
  return blocks[0]


def test_python_guide_example_runs():
  block = _first_python_block(ROOT / 'docs' / 'guide' / 'python-api.md')
  assert 'model.fit' in block
  namespace = {}
  exec(compile(block, 'python-api.md', 'exec'), namespace)  # pylint: disable=exec-used
  assert set(namespace['metrics']) >= {'loss', 'elbo', 'recon', 'kl'}
  assert namespace['scores']['elbo'].shape == (4,)
  assert namespace['pieces'].shape == (2, 32, 88)
  assert len(namespace['history'].history['loss']) >= 1


def test_readme_preset_example_runs(tmp_path, monkeypatch):
  block = _first_python_block(ROOT / 'README.md')
  assert 'presets.load' in block and len(block.splitlines()) <= 10
  monkeypatch.chdir(tmp_path)
  namespace = {}
  exec(compile(block, 'README.md', 'exec'), namespace)  # pylint: disable=exec-used
  assert namespace['rolls'].shape == (16, 64, 88)
  assert namespace['scores']['elbo'].shape == (16,)
  assert namespace['probabilities'].shape == (16, 64, 88)
  assert len(namespace['history'].history['loss']) == 1


def test_readme_is_a_front_page():
  lines = (ROOT / 'README.md').read_text().splitlines()
  assert len(lines) <= 150, f'README.md has {len(lines)} lines'
  # Its two quickstart lines: the second is what CI runs.
  assert any(l.endswith('-m pytest -q -n 2 --dist loadfile tests') for l in lines)
  ci = (ROOT / '.ci' / 'run').read_text()
  assert '-m pytest -q -n 2 --dist loadfile tests' in ci


def test_readme_links_resolve():
  text = (ROOT / 'README.md').read_text()
  for target in re.findall(r'\]\(([^)#]+)\)', text):
    if '://' not in target:
      assert (ROOT / target).exists(), target
