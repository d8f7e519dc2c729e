"""MkDocs hooks (mkdocs.yml): the presets page's table, made from the presets' cards at each
build, so that it lists what the package ships with the numbers the cards record."""

MARKER = '<!-- presets table -->'


def _table() -> str:
  from srnn_tf import presets
  rows = ['| preset | model and corpus | test (total / total) | test (per sequence) | estimate '
          '| valid (total / total) | parameters | stored |',
          '|---|---|---|---|---|---|---|---|']
  for card in presets.list():
    test, valid = card.numbers['test'], card.numbers['valid']
    rows.append(f'| `{card.name}` | {card.title} | {test["total_per_step"]:.3f} | '
                f'{test["per_step"]:.3f} | {test["bound"]} | {valid["total_per_step"]:.3f} | '
                f'{card.parameters:,} | {card.dtype}, '
                f'{card.fields["weights_bytes"] / 1e6:.2f} MB |')
  return '\n'.join(rows)


def on_page_markdown(markdown, page, config, files):
  del page, config, files
  return markdown.replace(MARKER, _table()) if MARKER in markdown else markdown
