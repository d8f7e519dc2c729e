"""MkDocs hooks (mkdocs.yml): the presets page's table, made from the presets' cards at each
build, so that it lists what the package ships with the numbers the cards record."""

MARKER = '<!-- presets table -->'


CORPORA = {'jsb': 'JSB Chorales', 'muse': 'MuseData', 'nottingham': 'Nottingham',
           'piano': 'Piano-midi.de'}


def _table() -> str:
  from srnn_tf import presets
  rows = ['| preset | model | corpus (data) | test: total / total | per sequence | valid | size |',
          '|---|---|---|---|---|---|---|']
  for card in presets.list():
    test, valid = card.numbers['test'], card.numbers['valid']
    config = card.fields['config']
    model = card.model.upper() + ('-NADE' if config.get('emission') == 'nade' else '')
    how = 'exact' if test['bound'] == 'exact' else 'SMC K=100'
    rows.append(f'| `{card.name}` | {model} | {CORPORA.get(card.dataset, card.dataset)} '
                f'({card.data_version}) | {test["total_per_step"]:.3f} ({how}) | '
                f'{test["per_step"]:.3f} | {valid["total_per_step"]:.3f} | '
                f'{card.fields["weights_bytes"] / 1e6:.1f} MB |')
  return '\n'.join(rows)


def on_page_markdown(markdown, page, config, files):
  del page, config, files
  return markdown.replace(MARKER, _table()) if MARKER in markdown else markdown
