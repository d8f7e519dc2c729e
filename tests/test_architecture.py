"""The import rules of docs/architecture.md: each layer of the package imports only the layers
below it. Read from the source (every import statement, function-level ones too), so a rule
breaks here before it breaks a user's light import."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'srnn_tf'

# Layer by layer, lowest first; a module may import its own layer and those below.
LAYERS = {
    'foundations': ('errors', 'files', 'keyboard', 'features', 'configs', 'seeds', 'threads',
                    'compiled', 'recurrences', 'nade', 'schedules', 'audio', 'limits', 'data.grid',
                    'data.transpose', 'data.errors'),
    'maths': ('layers', 'note_features', 'smc'),
    'models': ('models',),
    'data': ('data', 'music_stats', 'plots'),
    'runs': ('bounds', 'rundir', 'finished', 'callbacks', 'hparams', 'export', 'trainer', 'rl',
             'testing', 'presets'),
    'entry points': ('cli', 'scripts', 'data.__main__'),
}
ORDER = list(LAYERS)


def _layer(module: str) -> str:
  """The layer of `srnn_tf.<module>` (its longest listed prefix)."""
  best = None
  for layer, prefixes in LAYERS.items():
    for prefix in prefixes:
      if (module == prefix or module.startswith(prefix + '.')) and (
          best is None or len(prefix) > len(best[1])):
        best = (layer, prefix)
  assert best, f'srnn_tf.{module}: in no layer of docs/architecture.md'
  return best[0]


def _is_main_guard(node) -> bool:
  return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
          and isinstance(node.test.left, ast.Name) and node.test.left.id == '__name__')


def _imports(path: pathlib.Path) -> set[str]:
  """The srnn_tf modules `path` imports, without the `srnn_tf.` prefix (but under an
  `if __name__ == '__main__':` guard: a `python -m` shim runs as an entry point)."""
  found = set()
  tree = ast.parse(path.read_text())
  tree.body = [node for node in tree.body if not _is_main_guard(node)]
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names = [node.module] + [f'{node.module}.{a.name}' for a in node.names]
    else:
      continue
    for name in names:
      if name.startswith('srnn_tf.'):
        found.add(name[len('srnn_tf.'):])
  return found


def _modules():
  for path in sorted(PACKAGE.rglob('*.py')):
    parts = path.relative_to(PACKAGE).with_suffix('').parts
    if parts[-1] == '__init__':
      parts = parts[:-1]
    if parts:
      yield '.'.join(parts), path


def _is_module(name: str) -> bool:
  base = PACKAGE.joinpath(*name.split('.'))
  return base.with_suffix('.py').exists() or (base / '__init__.py').exists()


@pytest.mark.parametrize('module,path', list(_modules()), ids=lambda v: str(v))
def test_each_module_imports_only_its_layer_and_those_below(module, path):
  mine = ORDER.index(_layer(module))
  for imported in _imports(path):
    if not _is_module(imported):      # `from srnn_tf.x import name`: the module is x
      continue
    theirs = ORDER.index(_layer(imported))
    assert theirs <= mine, (f'srnn_tf.{module} ({ORDER[mine]}) imports srnn_tf.{imported} '
                            f'({ORDER[theirs]})')


def test_the_rules_can_fail():
  # The check itself: a model importing the data library would be refused.
  assert ORDER.index(_layer('data.corpus')) > ORDER.index(_layer('models.srnn'))
  assert _layer('data.grid') == 'foundations' and _layer('scripts.train') == 'entry points'


def test_only_entry_points_define_flags():
  """A library module that registered absl flags at import would make them every importer's
  (and refuse a second definition); the limits, say, are `limits.configure`d instead."""
  for path in PACKAGE.rglob('*.py'):
    parts = path.relative_to(PACKAGE).with_suffix('').parts
    module = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
    if module and _layer(module) == 'entry points':
      continue
    text = path.read_text()
    assert 'from absl import flags' not in text and 'absl.flags' not in text, module
