"""The one exception the data layer raises for bad or missing input."""


class DataError(ValueError):
  """Bad or unavailable input data. The message names the file and the problem."""
