"""The demo page in a real browser: headless Chromium (Debian's chromium and chromium-driver)
drives `srnn-demo` as a user would. It loads; a generate click returns a piano-roll image and
a MIDI file that parses; a file that is not MIDI and a length over the limit are answered in
the page. Skips with the reason where Gradio, Selenium or the browser is missing, but in CI,
which installs them, fails."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')
try:
  import gradio  # noqa: F401
  import selenium  # noqa: F401
  MISSING = None
except ImportError as e:
  MISSING = f'{e.name} is not installed (pip install "srnn-tf[demo]" selenium)'
if MISSING is None and not (CHROMIUM and CHROMEDRIVER):
  MISSING = 'no browser: apt-get install chromium chromium-driver'
browser = pytest.mark.skipif(MISSING is not None and not os.environ.get('CI'),
                             reason=str(MISSING))

MAX_FRAMES = 96
WAIT = 120   # seconds: the first request loads TensorFlow's traces of the model


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


@pytest.fixture(scope='module')
def page(tmp_path_factory):
  if MISSING:
    pytest.fail(f'CI: {MISSING}')
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  port = _free_port()
  url = f'http://127.0.0.1:{port}/'
  server = subprocess.Popen(
      [sys.executable, '-m', 'srnn_tf.scripts.demo', f'--port={port}',
       f'--max_frames={MAX_FRAMES}'], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      text=True)
  try:
    deadline = time.time() + 90
    while True:
      try:
        urllib.request.urlopen(url, timeout=2)
        break
      except OSError:
        if server.poll() is not None or time.time() > deadline:
          raise AssertionError('the demo did not start:\n' + server.stdout.read()[-3000:]) from None
        time.sleep(0.5)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--window-size=1280,1600',
                 f'--user-data-dir={tmp_path_factory.mktemp("chromium")}'):
      options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
      driver.get(url)
      from selenium.webdriver.common.by import By
      from selenium.webdriver.support.ui import WebDriverWait
      WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#generate'))
      yield driver, url
    finally:
      driver.quit()
  finally:
    server.terminate()
    server.wait(timeout=30)


def _status_after_click(driver, before: str) -> str:
  """Clicks Generate; the status text once it changes from `before`."""
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import WebDriverWait
  driver.find_element(By.CSS_SELECTOR, '#generate').click()
  status = driver.find_element(By.CSS_SELECTOR, '#status')
  WebDriverWait(driver, WAIT).until(lambda _: status.text.strip() not in ('', before))
  return status.text.strip()


def _set_frames(driver, value: int) -> None:
  from selenium.webdriver.common.by import By
  from selenium.webdriver.common.keys import Keys
  box = driver.find_element(By.CSS_SELECTOR, '#frames input')
  box.send_keys(Keys.CONTROL, 'a')
  box.send_keys(str(value), Keys.TAB)


@browser
def test_generate_returns_a_piano_roll_and_a_midi_file(page, tmp_path):
  import pretty_midi
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import WebDriverWait
  driver, url = page
  assert 'srnn_tf' in driver.title
  status = _status_after_click(driver, '')
  assert status.startswith('Sampled 64 frames'), status
  image = WebDriverWait(driver, WAIT).until(
      lambda d: d.find_element(By.CSS_SELECTOR, '#roll img'))
  assert image.get_attribute('src')
  link = WebDriverWait(driver, WAIT).until(
      lambda d: d.find_element(By.CSS_SELECTOR, '#midi a[href]'))
  path = tmp_path / 'sample.mid'
  path.write_bytes(urllib.request.urlopen(link.get_attribute('href'), timeout=30).read())
  notes = sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(path)).instruments)
  assert notes > 0


@browser
def test_bad_requests_are_answered_in_the_page(page, tmp_path):
  from selenium.webdriver.common.by import By
  driver, _ = page
  before = driver.find_element(By.CSS_SELECTOR, '#status').text.strip()
  _set_frames(driver, MAX_FRAMES + 1)
  status = _status_after_click(driver, before)
  assert status == f'Could not sample: length {MAX_FRAMES + 1}: choose 1 to {MAX_FRAMES} frames'
  _set_frames(driver, 16)
  text = tmp_path / 'notes.mid'
  text.write_text('not a MIDI file')
  driver.find_element(By.CSS_SELECTOR, '#primer input[type=file]').send_keys(str(text))
  time.sleep(2)   # the upload
  status = _status_after_click(driver, status)
  assert status.startswith('Could not sample:') and 'notes.mid' in status, status
  assert 'Traceback' not in driver.page_source


def test_a_request_continues_a_primer_and_refuses_what_it_cannot_take(data_dir, tmp_path):
  """The page's handler without the page: a primer is continued on the model's grid; a length
  over the limit and a file that is not MIDI are errors naming the problem."""
  from srnn_tf.data.errors import DataError
  from srnn_tf.errors import UserError
  from srnn_tf.scripts import demo
  models = demo.Models()
  choice = models.choices[0]
  primer = data_dir / 'midi' / 'test02.mid'
  result = demo.sample(models, choice, 0.8, 16, 1, str(primer), 64, str(tmp_path))
  import pretty_midi
  assert pretty_midi.PrettyMIDI(result['mid']).instruments
  assert os.path.exists(result['png']) and result['status'].startswith('Sampled 16 frames')
  with pytest.raises(UserError, match='length 65: choose 1 to 64 frames'):
    demo.sample(models, choice, 1.0, 65, 1, None, 64, str(tmp_path))
  bad = tmp_path / 'notes.mid'
  bad.write_text('not MIDI')
  with pytest.raises(DataError, match='notes.mid'):
    demo.sample(models, choice, 1.0, 16, 1, str(bad), 64, str(tmp_path))
  with pytest.raises(ValueError, match='not a model this page offers'):
    demo.sample(models, 'elsewhere', 1.0, 16, 1, None, 64, str(tmp_path))
