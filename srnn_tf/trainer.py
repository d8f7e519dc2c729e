"""`train_and_evaluate(config, workdir)`: one training run under the paper's protocol.

The work directory's layout and what it promises are `rundir`'s. Rerunning with the same work
directory and config resumes from the last finished epoch; a run that has finished is not
trained again; a conflicting config is refused.
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from srnn_tf import bounds
from srnn_tf import callbacks
from srnn_tf import configs
from srnn_tf import export
from srnn_tf import limits
from srnn_tf import nade
from srnn_tf import files
from srnn_tf import hparams
from srnn_tf import rundir
from srnn_tf import schedules
from srnn_tf import threads
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import pipeline
from srnn_tf.data import transpose
from srnn_tf.data.errors import DataError
from srnn_tf.errors import DiskFullError, NonFiniteLossError, UserError, is_no_space
from srnn_tf.models import factory


def trainable_parameters(model) -> int:
  """The model's trainable weights (`count_params` would add the carried state's variables,
  which for the tied models, 16 x 88 x 800, outnumber their weights)."""
  return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def make_strategy(name: str):
  """The tf.distribute strategy of `--strategy`."""
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy()
  if name == 'multi_worker':
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise ValueError(f'unknown strategy {name!r}; choose default, mirrored or multi_worker')


def build_model(config: configs.Config, steps_per_epoch: int) -> keras.Model:
  """The model of `config`, compiled with the paper's optimiser and schedules."""
  model = factory.build(config, steps_per_epoch)
  compile_model(model, config, steps_per_epoch)
  model.build()
  return model


def compile_model(model: keras.Model, config: configs.Config, steps_per_epoch: int) -> None:
  """Compiles `model` with the paper's optimiser: Adam, the learning rate held for
  `config.lr_constant_epochs` epochs of `steps_per_epoch`, then decayed."""
  schedule = schedules.ConstantThenExponentialDecay(
      config.learning_rate, steps_per_epoch, config.lr_constant_epochs, config.lr_decay)
  model.compile(optimizer=keras.optimizers.Adam(
      schedule, beta_1=config.adam_beta1, beta_2=config.adam_beta2,
      epsilon=config.adam_epsilon))


def _check_splits(corpus, config) -> None:
  """Every split must hold data: a run without them would train 0 steps or report NaN."""
  for split in ('train', 'valid', 'test'):
    if not corpus.splits.get(split):
      hint = (' (a MIDI folder is split by file: it needs at least 3 files)'
              if os.path.exists(config.dataset) else '')
      raise DataError(f'{corpus.source}: the {split} split is empty{hint}')


def _finite_float(value):
  value = float(value)
  return value if np.isfinite(value) else None


def train_and_evaluate(config: configs.Config, workdir: str, results_dir: str | None = None,
                       verbose: int | str = 'auto', overwrite_results: bool = False) -> dict:
  """Trains `config` in `workdir` (resuming from its backup), evaluates, writes files.

  Args:
    config: the run's configuration; a resume must match the folder's config.json (only
      `rundir.RESUMABLE_FIELDS` may differ, and `epochs` only grow).
    workdir: the run directory (`rundir`'s layout).
    results_dir: where run.json and history.csv are copied as `<run name>.json|.history.csv`
      (None: nowhere). An existing copy with other contents is not replaced unless
      `overwrite_results`.
  Returns:
    The run summary that is also written to `workdir/run.json`.
  Raises:
    UserError: bad config or data, a busy or conflicting run folder, NaN, a full disk.
  """
  limits.batch_frames(config.batch_size, config.seq_len)
  rundir.check_run_folder(workdir)
  rundir.check_output_dir(workdir)
  try:
    with rundir.locked(workdir):
      return _train_locked(config, workdir, results_dir, verbose, overwrite_results)
  except (OSError, tf.errors.OpError) as e:   # TensorBoard's writes raise OpErrors
    if isinstance(e, UserError) or not is_no_space(e):
      raise
    where = getattr(e, 'filename', None) or workdir
    raise DiskFullError(f'disk full while writing {where}; the last finished epoch\'s backup '
                        'is kept: free some space and rerun to resume') from None


def _train_locked(config, workdir, results_dir, verbose, overwrite_results) -> dict:
  rundir.check_config(workdir, config)
  summary = rundir.finished_summary(workdir)
  if summary is not None and summary.get('config', {}).get('epochs') == config.epochs:
    logging.info('%s already finished; not training again.', workdir)
    _copy_results(workdir, results_dir, overwrite_results)
    return summary

  threads.set_threads(config.intra_op_threads, config.inter_op_threads)
  keras.utils.set_random_seed(config.seed)
  corpus = corpus_lib.load_corpus(config.dataset, config.data_version, config.data_dir,
                                  frames_per_quarter=config.frames_per_quarter)
  _check_splits(corpus, config)
  strategy = make_strategy(config.strategy)
  if config.carry_state and strategy.num_replicas_in_sync > 1:
    raise UserError('--carry_state (stateful training) needs one replica; use '
                    '--nocarry_state with --strategy=' + config.strategy)
  # Count the steps first: the resume point's epoch decides where the data stream starts.
  if config.carry_state:
    train_ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len,
                                              config.batch_size, config.seed)
  else:
    steps = pipeline.steps_per_epoch(corpus.splits['train'], config.seq_len, config.batch_size)
  with strategy.scope():
    model = build_model(config, steps)
    model.optimizer.build(model.trainable_variables)
  resume = rundir.restore(workdir, config.epochs, model.load_weights)
  if resume.note:
    logging.warning('%s', resume.note)
  if resume.epoch:
    logging.info('resuming %s after epoch %d', workdir, resume.epoch)
  if config.nade_pretrain_steps and not resume.epoch:
    logging.info('pre-training the NADE emission: an unconditional NADE over the training '
                 'frames, %d steps', config.nade_pretrain_steps)
    model.start_emission_from(nade.fit(np.concatenate(corpus.splits['train']),
                                       config.nade_units, config.nade_pretrain_steps,
                                       seed=config.seed))
  if not config.carry_state:   # the stateful streams start every epoch from their beginning
    train_ds, _ = pipeline.train_dataset(corpus.splits['train'], config.seq_len,
                                         config.batch_size, config.seed,
                                         initial_epoch=resume.epoch)
  if config.transpose_augment:
    train_ds = transpose.augment(train_ds, config.transpose_augment, config.seed,
                                 first_batch=resume.epoch * steps)
  valid_ds = pipeline.eval_dataset(corpus.splits['valid'], config.batch_size)
  rundir.write_config(workdir, config)

  callback_list, epochs = _callbacks(config, workdir, model, corpus, resume.epoch)

  start = time.time()
  if epochs > resume.epoch:
    model.fit(train_ds, epochs=epochs, initial_epoch=resume.epoch, steps_per_epoch=steps,
              validation_data=valid_ds, validation_freq=config.validation_freq,
              callbacks=callback_list, verbose=verbose)
  train_seconds = time.time() - start
  kept_epoch = _keep_best(model, workdir) if config.keep_best else None
  if not callbacks.weights_are_finite(model):
    raise NonFiniteLossError('training ended with non-finite weights; nothing saved')

  files.failpoint('final_evaluation')
  results = bounds.evaluate_splits(model, corpus,
                                   ('valid', 'test') if config.evaluate_test else ('valid',),
                                   config.eval_samples, config.batch_size)
  history = rundir.read_history(workdir)
  last = history[-1] if history else {}
  speeds = [float(r['steps_per_sec']) for r in history if r.get('steps_per_sec')]
  summary = {
      'config': dataclasses.asdict(config),
      'corpus': {'name': corpus.name, 'source': corpus.source, **{
          f'{k}_sequences': len(v) for k, v in corpus.splits.items()}},
      'grid': corpus.grid.to_dict(),   # the musical time generate/reconstruct write MIDI in
      'steps_per_epoch': steps,
      'epochs_trained': len(history),
      'parameters': trainable_parameters(model),
      'train_seconds_this_session': train_seconds,
      'train_steps_per_sec_median': float(np.median(speeds[1:] or speeds)) if speeds else None,
      # From the history, so a run resumed after its last epoch still reports them.
      'final_train': {k: _finite_float(v) for k, v in last.items()
                      if v != '' and k != 'epoch' and not k.startswith('val_')},
      'kept_epoch': kept_epoch,   # 1-based; None: the last epoch's weights
      # The thread pools the final evaluation ran on (0: TF's default), which partition each
      # op's sums: eval.py takes the same ones to give the same numbers to the last digit.
      'evaluation_threads': [tf.config.threading.get_intra_op_parallelism_threads(),
                             tf.config.threading.get_inter_op_parallelism_threads()],
      **results,
  }
  export.save_keras_atomic(model, os.path.join(workdir, rundir.MODEL_KERAS))
  if config.saved_model:
    export.export_saved_model(model, os.path.join(workdir, rundir.SAVED_MODEL),
                              export.metadata(model, config, results, corpus.grid))
  files.write_json(os.path.join(workdir, rundir.RUN_JSON), summary)   # the run is finished
  _copy_results(workdir, results_dir, overwrite_results)
  return summary


def _callbacks(config, workdir, model, corpus, resumed_epoch) -> tuple[list, int]:
  """The training's callbacks, in the order they must run, and the epoch to train up to: the
  config's, or the resumed epoch where an early stop was recorded before a kill."""
  callback_list = [
      callbacks.NanGuard(workdir),  # first: raises before anything saves broken weights
      callbacks.ReseedNoise(),
      callbacks.Throughput(config.batch_size * config.seq_len)]
  if config.carry_state:
    callback_list.insert(1, callbacks.ResetCarriedState())
  if config.monitor_test:
    test_seqs, test_evaluator = corpus.splits['test'], bounds.Evaluator(model)
    callback_list.append(callbacks.MonitorSplit(
        lambda _: test_evaluator.evaluate_elbo(test_seqs, config.eval_samples,
                                               batch_size=config.batch_size,
                                               progress=False)['elbo_per_step'],
        previous_seconds=(rundir.history_column(workdir, 'wall_seconds') or [0.0])[-1]))
  # The history row of an epoch before its backup commit (see `callbacks.EpochBackup`).
  callback_list.append(keras.callbacks.CSVLogger(os.path.join(workdir, rundir.HISTORY_CSV),
                                             append=True))
  if config.keep_best:
    callback_list.append(callbacks.BestWeights(workdir))
  logdir = os.path.join(workdir, rundir.TENSORBOARD)
  callback_list += [callbacks.EpochBackup(workdir), keras.callbacks.TensorBoard(logdir)]
  if config.media_every:
    callback_list.append(callbacks.TensorBoardMedia(logdir, corpus.splits['valid'][0],
                                                    corpus.grid, config.media_every))
  if not resumed_epoch:
    hparams.log_hparams(logdir, config)
  epochs = config.epochs
  if config.early_stopping_patience:
    stopper = callbacks.ResumableEarlyStopping(config.early_stopping_patience,
                                               rundir.history_column(workdir, 'val_elbo'))
    callback_list.append(stopper)
    if stopper.exhausted():   # killed after it stopped the run, before the final save
      epochs = resumed_epoch
  return callback_list, epochs


def _keep_best(model, workdir) -> int | None:
  """Loads the best-validation epoch's weights, if one was saved; returns that epoch (1-based)."""
  best = files.read_json(os.path.join(workdir, rundir.BEST_JSON))
  if not best:
    return None
  model.load_weights(os.path.join(workdir, rundir.BEST_WEIGHTS))
  logging.info('keeping the weights of epoch %d (best validation ELBO)', best['epoch'])
  return best['epoch']


def _copy_results(workdir, results_dir, overwrite) -> None:
  if not results_dir:
    return
  name = os.path.basename(os.path.normpath(workdir))
  rundir.copy_results(results_dir, {
      os.path.join(workdir, rundir.RUN_JSON): f'{name}.json',
      os.path.join(workdir, rundir.HISTORY_CSV): f'{name}.history.csv'}, overwrite)
