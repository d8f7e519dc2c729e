"""Shared fixtures. Real data is read from $SRNN_TF_TEST_DATA, else ../shared/data.

Tests that need it fail loudly in CI (CI=true) when it is missing, and skip with the reason
on a user's machine.
"""

import os
import pathlib

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_DIR = pathlib.Path(os.environ.get('SRNN_TF_TEST_DATA', ROOT.parent / 'shared' / 'data'))


@pytest.fixture(scope='session')
def data_dir() -> pathlib.Path:
  if not (DATA_DIR / 'boulanger').is_dir() or not (DATA_DIR / 'srnn2016').is_dir():
    message = (f'real data not found at {DATA_DIR} (set SRNN_TF_TEST_DATA to a directory '
               'laid out like ../shared/data)')
    if os.environ.get('CI'):
      pytest.fail(message)
    pytest.skip(message)
  return DATA_DIR
