"""Rewrites a run's serving SavedModel (and its metadata.json):

    python -m srnn_tf.export --run=RUN_DIR [--output=DIR]      # or: srnn-export

Every run writes one unless trained with --nosaved_model; this writes it again, e.g. for a run
trained so or after the package's signatures changed.
"""

import os

from absl import flags

from srnn_tf import cli
from srnn_tf.errors import UserError

_RUN = cli.run_flag()
_OUTPUT = flags.DEFINE_string('output', None, 'SavedModel directory (default: <run>/saved_model).')


def main(argv):
  del argv
  run = _RUN.load()   # TensorFlow loads quietly here, before the export's imports
  from srnn_tf import export, rundir
  model, config, summary = run.model, run.config, run.summary
  metrics = ({k: v for k, v in summary.items() if k.startswith(('test', 'valid'))}
             if summary is not None else None)
  output = _OUTPUT.value or run.output_path(rundir.SAVED_MODEL)
  if os.path.exists(output) and not os.path.isdir(output):
    raise UserError(f'--output={output}: is a file, not a folder')
  if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
    raise UserError(f'--output={output}: its folder does not exist')
  export.export_saved_model(model, output, export.metadata(model, config, metrics, run.grid))
  print(f'wrote {output}')


def run():
  """The `srnn-export` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
