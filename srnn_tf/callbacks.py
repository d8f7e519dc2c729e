"""The callbacks that make long runs safe and visible: NaN guard, atomic NaN-proof backups,
best-epoch weights, carried-state resets, throughput, TensorBoard media. (The learning-rate
schedule is `srnn_tf.schedules`.)"""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from srnn_tf import files, rundir
from srnn_tf.errors import NonFiniteLossError


class NanGuard(keras.callbacks.Callback):
  """Stops training at the first non-finite loss by raising, so no later callback (backup,
  checkpoint, model export) runs on broken weights. Put it first in the callback list.

  It also warns, once, when an epoch's mean loss is negative: the loss is minus a lower bound
  on log p(x) per frame (ELBO, IWAE or FIVO), and no log-probability of binary frames is above
  0, so a negative mean says the estimator is being exploited (random numbers reused across
  steps, which a FIVO run once fitted; or x_t leaking into its own prediction).

  Args:
    workdir: the run directory, to tell the user whether a checkpoint exists to resume from.
  """

  def __init__(self, workdir: str | None = None):
    super().__init__()
    self.workdir = workdir
    self._warned = False

  def on_epoch_end(self, epoch, logs=None):
    loss = (logs or {}).get('loss')
    if loss is not None and float(loss) < 0 and not self._warned:
      self._warned = True
      logging.warning('epoch %d: the training bound is %+.3f nats per frame, above 0, which no '
                      'log-probability of binary frames is: the estimator is being exploited '
                      '(random numbers reused across steps, or x_t leaking into its own '
                      'prediction); its numbers are not log-likelihoods', epoch + 1,
                      -float(loss))

  def on_train_batch_end(self, batch, logs=None):
    loss = (logs or {}).get('loss')
    if loss is not None and not math.isfinite(float(loss)):
      kept = self.workdir and rundir.resume_point_exists(self.workdir)
      raise NonFiniteLossError(
          f'non-finite training loss ({loss}) at batch {batch}; stopped. ' +
          ('The last good checkpoint is kept: lower --learning_rate or check the data, then '
           'rerun to resume from it.' if kept else
           'No checkpoint was written yet (nothing to resume): lower --learning_rate or check '
           'the data, then rerun.'))


def weights_are_finite(model) -> bool:
  return all(np.all(np.isfinite(w)) for w in model.get_weights())


class EpochBackup(keras.callbacks.Callback):
  """Commits the training state (weights, optimizer, noise state) after every epoch, with
  `rundir.save_backup`, and refuses to overwrite a good backup with non-finite weights.

  Keras's `BackupAndRestore` writes its weights and its epoch count as two files, each in
  place: a kill between or during them leaves a state whose epoch and weights disagree, and
  its fallback to the previous state is silent. Here the weights file is complete before
  `state.json`, written atomically, names it; restoring (`rundir.resume_point`) says which
  state it took. Put it after the CSV logger: the history row of an epoch is written before
  its commit, so a kill in between leaves a row that the resume drops and trains again."""

  def __init__(self, workdir: str):
    super().__init__()
    self.workdir = workdir

  def on_epoch_end(self, epoch, logs=None):
    if not weights_are_finite(self.model):
      raise NonFiniteLossError('model weights are NaN or inf; the last good backup in '
                               f'{os.path.join(self.workdir, rundir.BACKUP)} is kept.')
    rundir.save_backup(self.workdir, self.model, epoch + 1)


class BestWeights(keras.callbacks.Callback):
  """Keeps the weights of the epoch with the best `monitor` (higher is better) in
  `best.weights.h5`, and that epoch (1-based) in `best.json`, both written atomically.

  `ModelCheckpoint(save_best_only=True)` writes in place and does not record the epoch; the
  kept epoch used to be recovered from the history, which a resume could make disagree.

  Args:
    workdir: the run directory; a resume starts from its `best.json`.
  """

  def __init__(self, workdir: str, monitor: str = 'val_elbo'):
    super().__init__()
    self.workdir, self.monitor = workdir, monitor
    best = files.read_json(os.path.join(workdir, rundir.BEST_JSON)) or {}
    self.best = best.get(monitor, -math.inf)

  def on_epoch_end(self, epoch, logs=None):
    value = (logs or {}).get(self.monitor)
    if value is None or not float(value) > self.best:
      return
    self.best = float(value)
    path = os.path.join(self.workdir, rundir.BEST_WEIGHTS)
    files.save_weights(self.model, path)
    files.write_json(os.path.join(self.workdir, rundir.BEST_JSON),
                      {'epoch': epoch + 1, self.monitor: self.best})


class ReseedNoise(keras.callbacks.Callback):
  """Reseeds the model's stateful noise (`SequenceModel.reseed`) from the epoch at the start of
  each epoch's training and of its validation: the draws then depend on the epoch, not on
  what the process did before (a resume would otherwise validate with other samples)."""

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch = epoch
    self.model.reseed(2 * epoch)

  def on_test_begin(self, logs=None):
    self.model.reseed(2 * getattr(self, '_epoch', 0) + 1)


class ResetCarriedState(keras.callbacks.Callback):
  """Zeroes the carried recurrent state at each epoch start (stateful training)."""

  def on_epoch_begin(self, epoch, logs=None):
    self.model.reset_carried_state()


class Throughput(keras.callbacks.Callback):
  """Adds `steps_per_sec` (time steps: batch x frames per second of training) to the logs."""

  def __init__(self, frames_per_batch):
    super().__init__()
    self.frames_per_batch = frames_per_batch

  def on_epoch_begin(self, epoch, logs=None):
    self._start, self._batches = time.perf_counter(), 0

  def on_train_batch_end(self, batch, logs=None):
    self._batches += 1

  def on_test_begin(self, logs=None):
    self._train_time = time.perf_counter() - self._start

  def on_epoch_end(self, epoch, logs=None):
    elapsed = getattr(self, '_train_time', None) or time.perf_counter() - self._start
    self._train_time = None
    if logs is not None:
      logs['steps_per_sec'] = self._batches * self.frames_per_batch / elapsed
    logging.info('epoch %d: %.0f time steps/s', epoch + 1,
                 self._batches * self.frames_per_batch / elapsed)


class MonitorSplit(keras.callbacks.Callback):
  """Logs `<split>_elbo` (per step, the paper's convention) after every epoch, and
  `wall_seconds`: the training wall time so far, summed over the epochs in the history, so it
  survives resumes and excludes this callback's own evaluation. For time-to-quality curves;
  put it before the CSV logger."""

  def __init__(self, evaluate, split='test', previous_seconds=0.0):
    super().__init__()
    self.evaluate, self.split = evaluate, split  # evaluate(model) -> ELBO per step
    self.wall_seconds = previous_seconds

  def on_epoch_begin(self, epoch, logs=None):
    self._start = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    self.wall_seconds += time.perf_counter() - self._start
    if logs is not None:
      logs[f'{self.split}_elbo'] = float(self.evaluate(self.model))
      logs['wall_seconds'] = self.wall_seconds


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
  """`EarlyStopping` on the validation ELBO (higher is better) that survives a resume: it
  starts from the monitored column of the run's history so far (`previous`: one value per
  finished epoch), so its best value and its count of epochs without improvement carry on
  where the killed run left them instead of starting again."""

  def __init__(self, patience, previous=(), monitor='val_elbo'):
    super().__init__(monitor=monitor, mode='max', patience=patience, verbose=1)
    self.previous = list(previous)

  def exhausted(self) -> bool:
    """Whether the history so far already ends the run (it was killed after stopping)."""
    return bool(self.previous) and \
        len(self.previous) - 1 - int(np.argmax(self.previous)) >= self.patience

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    if self.previous:
      best = int(np.argmax(self.previous))
      self.best, self.wait = self.previous[best], len(self.previous) - 1 - best


class TensorBoardMedia(keras.callbacks.Callback):
  """Every `every` epochs, writes to TensorBoard (`<logdir>/media`) what the scalars cannot
  show: a piano roll of a sample from the model, one of a validation piece beside its
  reconstruction, and the sample as audio when fluidsynth is installed (`audio`).

  Args:
    logdir: the run's TensorBoard folder.
    piece: a validation piano roll `[T, 88]` (its first `num_steps` frames are shown).
    grid: the corpus's `data.grid.Grid`: the tempo the audio plays at.
    every: epochs between writes.
    num_steps: frames sampled and shown.
  """

  def __init__(self, logdir: str, piece: np.ndarray, grid, every: int, num_steps: int = 160):
    super().__init__()
    self.piece = np.asarray(piece[:num_steps], np.float32)
    self.grid, self.every, self.num_steps = grid, every, num_steps
    self.writer = tf.summary.create_file_writer(os.path.join(logdir, 'media'))

  def on_epoch_end(self, epoch, logs=None):
    if (epoch + 1) % self.every:
      return
    from srnn_tf import plots   # matplotlib: only when media are written
    sample = self.model.generate(self.num_steps, 1, seed=(epoch, 0)).numpy()[0]
    probs = self.model.reconstruct(self.piece[None]).numpy()[0]
    with self.writer.as_default(step=epoch + 1):
      tf.summary.image('sample', plots.roll_image(sample)[None],
                       description='A piece sampled from the model (keys bottom to top).')
      tf.summary.image('reconstruction', plots.roll_image(self.piece, probs)[None],
                       description='A validation piece (top) and the probability the model '
                       'gives each key after encoding it (bottom).')
      wav = _synthesize(sample, self.grid)
      if wav is not None:
        # The WAV file's bytes, as TensorBoard's audio plugin stores a clip ([clips, (audio,
        # label)]): `tf.summary.audio` would encode them again in the graph, and with TF 2.21
        # its encoder makes oneDNN log an ERROR line ("oneDNN supports DT_STRING only on
        # platforms with AVX-512"; these machines have AVX-512 all the same) in every training.
        from tensorboard.plugins.audio import metadata
        clip = metadata.create_summary_metadata(
            display_name=None, description='The sampled piece (General MIDI piano).',
            encoding=metadata.Encoding.Value('WAV'))
        tf.summary.write('sample', tf.constant([[wav, b'']]), metadata=clip)
    self.writer.flush()


_SAMPLE_RATE = 22050


def _synthesize(roll, grid) -> bytes | None:
  """The roll as a WAV file (fluidsynth's), or None when fluidsynth is not installed."""
  from srnn_tf import audio
  from srnn_tf.data import midi
  if audio.unavailable_reason() is not None:
    return None
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    mid, wav = os.path.join(tmp, 'sample.mid'), os.path.join(tmp, 'sample.wav')
    midi.write_midi(roll.astype(np.uint8), mid, frames_per_quarter=grid.frames_per_quarter,
                    tempo=grid.tempo)
    audio.render(mid, wav, sample_rate=_SAMPLE_RATE)
    with open(wav, 'rb') as f:
      return f.read()
