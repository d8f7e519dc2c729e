"""`python reconstruct.py` = `srnn-reconstruct` (installed with the package); the code and its
flags are in `srnn_tf/scripts/reconstruct.py`."""

from srnn_tf.scripts import reconstruct as _script

__doc__ = _script.__doc__   # absl prints the main module's docstring for --help

if __name__ == '__main__':
  _script.run()
