"""A tuning run keeps a training run's guarantees: a resume under other flags or in a folder
of other files is refused with nothing touched, a kill between appending the history and
saving the checkpoint resumes to the uninterrupted tuning's history (no row twice), and the
examples are written on the corpus's grid."""

import csv
import dataclasses
import os

import pretty_midi
import pytest

from srnn_tf import configs, files, finished
from srnn_tf.errors import RunDirError, UserError
from srnn_tf.rl import tuning_run
from srnn_tf.testing import tiny

# A few short iterations, a checkpoint after each; no SavedModel (seconds of tracing).
TINY = configs.TuneConfig(iterations=3, batch_size=2, num_steps=6, checkpoint_every=1,
                          eval_pieces=3, saved_model=False)


class Killed(Exception):
  """What SIGKILL would be at the failpoint (in-process, so that runs compare exactly)."""


def _kill_at(monkeypatch, name, hit):
  hits = []

  def failpoint(at):
    hits.append(at)
    if at == name and hits.count(name) == hit:
      raise Killed(name)
  monkeypatch.setattr(files, 'failpoint', failpoint)


def _rows(workdir):
  with open(os.path.join(workdir, 'history.csv')) as f:
    return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def pretrained(small_run):
  workdir, _, _ = small_run
  return workdir


@pytest.fixture(scope='module')
def uninterrupted(pretrained, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('tuned') / 'a')
  tuning_run.tune(TINY, finished.load_run(pretrained), workdir)
  return workdir


def test_a_killed_tuning_resumes_to_the_uninterrupted_history(pretrained, uninterrupted,
                                                              tmp_path, monkeypatch):
  workdir = str(tmp_path / 'b')
  _kill_at(monkeypatch, 'tune_history_appended', 2)   # iteration 1's row written, not saved
  with pytest.raises(Killed):
    tuning_run.tune(TINY, finished.load_run(pretrained), workdir)
  assert [r['iteration'] for r in _rows(workdir)] == ['0', '1']
  monkeypatch.undo()
  tuning_run.tune(TINY, finished.load_run(pretrained), workdir)
  assert _rows(workdir) == _rows(uninterrupted)   # iteration 1 again, its row once


def test_the_examples_are_on_the_corpus_grid(pretrained, uninterrupted):
  grid = finished.load_run(pretrained).grid
  assert (grid.frames_per_quarter, grid.tempo) != (4, 120.0)   # not the default grid
  names = sorted(os.listdir(os.path.join(uninterrupted, 'examples')))
  assert 'tuned_0.mid' in names and 'pretrained_0.mid' in names
  for name in names:
    if name.endswith('.mid'):
      music = pretty_midi.PrettyMIDI(os.path.join(uninterrupted, 'examples', name))
      assert list(music.get_tempo_changes()[1]) == pytest.approx([grid.tempo])
      assert music.get_end_time() <= TINY.num_steps * grid.seconds_per_frame + 1e-6


def test_a_resume_under_other_flags_is_refused_naming_them(pretrained, uninterrupted):
  before = {name: os.path.getmtime(os.path.join(uninterrupted, name))
            for name in os.listdir(uninterrupted)}
  other = dataclasses.replace(TINY, beta=0.5, num_steps=7)
  with pytest.raises(RunDirError, match=r'holds another tuning: --beta=0.5 \(the tuning has '
                                        r'2.0\); --num_steps=7 \(the tuning has 6\)'):
    tuning_run.tune(other, finished.load_run(pretrained), uninterrupted)
  with pytest.raises(RunDirError, match=r'--iterations=2 \(the tuning has 3; a tuning can '
                                        r'only go further\)'):
    tuning_run.tune(dataclasses.replace(TINY, iterations=2), finished.load_run(pretrained),
                    uninterrupted)
  assert {name: os.path.getmtime(os.path.join(uninterrupted, name))
          for name in os.listdir(uninterrupted)} == before


def test_a_folder_of_other_files_is_refused_and_left_untouched(pretrained, tmp_path):
  mine = tmp_path / 'mine'
  mine.mkdir()
  (mine / 'history.csv').write_text('my own notes\n')
  with pytest.raises(UserError, match='holds files \\(history.csv\\) but is not a run '
                                        'folder \\(no tune_config.json\\)'):
    tuning_run.tune(TINY, finished.load_run(pretrained), str(mine))
  assert os.listdir(mine) == ['history.csv']
  assert (mine / 'history.csv').read_text() == 'my own notes\n'


def test_a_model_without_latents_is_refused_before_the_folder_is_made(pretrained, tmp_path):
  run = finished.load_run(pretrained)
  run = dataclasses.replace(run, model=tiny.model('rnn'))
  with pytest.raises(RunDirError, match='RL tuning needs a latent model'):
    tuning_run.tune(TINY, run, str(tmp_path / 'new'))
  assert not (tmp_path / 'new').exists()
