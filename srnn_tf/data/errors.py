"""The one exception the data layer raises for bad or missing input."""

from srnn_tf.errors import UserError


class DataError(UserError, ValueError):
  """Bad or unavailable input data. The message names the file and the problem."""
