"""The README's Python example runs verbatim."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_python_example_runs():
  text = (ROOT / 'README.md').read_text()
  blocks = re.findall(r'```python\n(.*?)\n```', text, flags=re.S)
  assert blocks and 'model.fit' in blocks[0]
  namespace = {}
  exec(compile(blocks[0], 'README.md', 'exec'), namespace)  # pylint: disable=exec-used
  assert set(namespace['metrics']) >= {'loss', 'elbo', 'recon', 'kl'}
  assert namespace['scores']['elbo'].shape == (4,)
  assert namespace['pieces'].shape == (2, 32, 88)
  assert len(namespace['history'].history['loss']) >= 1
