"""`train_and_evaluate(config, workdir)`: one training run under the paper's protocol.

The work directory holds everything a run needs to resume and be inspected:

    backup/           Keras BackupAndRestore state (weights + optimizer + epoch): resume point
    tensorboard/      TensorBoard logs
    history.csv       one row of metrics per epoch
    model.keras       the final model (written only if training finished with finite weights)
    saved_model/      the final model as a SavedModel, with metadata.json
    run.json          config, final train/valid/test metrics, throughput

Rerunning with the same work directory resumes from the last completed epoch; a run that has
finished is not trained again.
"""

import csv
import dataclasses
import json
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from srnn_tf import bounds
from srnn_tf import configs
from srnn_tf import export
from srnn_tf import training
from srnn_tf.data import corpus as corpus_lib
from srnn_tf.data import pipeline
from srnn_tf.models import RNN, SRNN, VRNN

MODELS = ('rnn', 'vrnn', 'srnn')


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
  common = dict(kl_start=config.kl_start,
                kl_anneal_steps=config.kl_anneal_epochs * steps_per_epoch,
                clip_norm=config.clip_norm, clip_value=config.clip_value,
                stateful_batch_size=config.batch_size if config.carry_state else 0,
                seed=config.seed, objective=config.objective,
                num_particles=config.num_particles, train_precision=config.train_precision,
                gru_init=config.gru_init, emission=config.emission,
                nade_units=config.nade_units)
  dropout = (config.dropout_d, config.dropout_z, config.dropout_emb_u, config.dropout_emb_x)
  if config.model != 'srnn' and any(dropout):
    raise ValueError(f'--dropout_* are options of the SRNN, not of --model={config.model}')
  if config.model == 'srnn':
    model = SRNN(z_dim=config.z_dim, d_dim=config.d_dim, a_dim=config.a_dim,
                 hidden_units=config.hidden_units, embed_units=config.embed_units,
                 inference=config.inference, resq=config.resq, dropout_d=config.dropout_d,
                 dropout_z=config.dropout_z, dropout_emb_u=config.dropout_emb_u,
                 dropout_emb_x=config.dropout_emb_x, **common)
  elif config.model == 'vrnn':
    model = VRNN(z_dim=config.z_dim, h_dim=config.d_dim, hidden_units=config.hidden_units,
                 embed_units=config.embed_units, **common)
  elif config.model == 'rnn':
    model = RNN(d_dim=config.d_dim, hidden_units=config.hidden_units,
                embed_units=config.embed_units, **common)
  else:
    raise ValueError(f'unknown model {config.model!r}; choose one of {", ".join(MODELS)}')
  schedule = training.ConstantThenExponentialDecay(
      config.learning_rate, steps_per_epoch, config.lr_constant_epochs, config.lr_decay)
  model.compile(optimizer=keras.optimizers.Adam(
      schedule, beta_1=config.adam_beta1, beta_2=config.adam_beta2,
      epsilon=config.adam_epsilon))
  model.build()
  return model


def _evaluate_splits(model, corpus, config, splits=('valid', 'test')) -> dict:
  results = {}
  for split in splits:
    seqs = corpus.splits[split]
    results[split] = bounds.evaluate_elbo(model, seqs, config.eval_samples,
                                          batch_size=config.batch_size)
    if split in corpus.first_inputs:   # the srnn2016 release: as its evaluation started
      results[f'{split}_release_first_frame'] = bounds.evaluate_elbo(
          model, seqs, config.eval_samples, batch_size=config.batch_size,
          first_inputs=corpus.first_inputs[split])
  return results


def _history_column(workdir, key):
  path = os.path.join(workdir, 'history.csv')
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [float(r[key]) for r in csv.DictReader(f) if r.get(key)]


def _previous_best(workdir, key):
  values = _history_column(workdir, key)
  return max(values) if values else None


def _previous_wall_seconds(workdir) -> float:
  """The `wall_seconds` of the last epoch in a resumed run's history (0 for a new run)."""
  values = _history_column(workdir, 'wall_seconds')
  return values[-1] if values else 0.0


def _best_epoch(workdir, key):
  values = _history_column(workdir, key)
  return int(np.argmax(values)) + 1 if values else None


def train_and_evaluate(config: configs.Config, workdir: str, results_dir: str | None = None,
                       verbose: int | str = 'auto') -> dict:
  """Trains `config` in `workdir` (resuming if it holds a backup), evaluates, writes files.

  Returns:
    The run summary that is also written to `workdir/run.json`.
  """
  os.makedirs(workdir, exist_ok=True)
  run_json = os.path.join(workdir, 'run.json')
  if os.path.exists(run_json) and os.path.exists(os.path.join(workdir, 'model.keras')):
    logging.info('%s already finished; not training again.', workdir)
    with open(run_json) as f:
      return json.load(f)

  training.set_threads(config.intra_op_threads, config.inter_op_threads)
  keras.utils.set_random_seed(config.seed)
  corpus = corpus_lib.load_corpus(config.dataset, config.data_version, config.data_dir,
                                  frames_per_quarter=config.frames_per_quarter)
  if config.carry_state:
    train_ds, steps = pipeline.stream_dataset(corpus.splits['train'], config.seq_len,
                                              config.batch_size, config.seed)
  else:
    train_ds, steps = pipeline.train_dataset(corpus.splits['train'], config.seq_len,
                                             config.batch_size, config.seed)
  valid_ds = pipeline.eval_dataset(corpus.splits['valid'], config.batch_size)
  strategy = make_strategy(config.strategy)
  if config.carry_state and strategy.num_replicas_in_sync > 1:
    raise ValueError('--carry_state (stateful training) needs one replica; use '
                     '--nocarry_state with --strategy=' + config.strategy)
  with strategy.scope():
    model = build_model(config, steps)

  callbacks = [
      training.NanGuard(),  # first: raises before any later callback saves broken weights
      training.Throughput(config.batch_size * config.seq_len),
      training.SafeBackupAndRestore(os.path.join(workdir, 'backup'), double_checkpoint=True,
                                    delete_checkpoint=False),
      keras.callbacks.CSVLogger(os.path.join(workdir, 'history.csv'), append=True),
      keras.callbacks.TensorBoard(os.path.join(workdir, 'tensorboard')),
  ]
  if config.carry_state:
    callbacks.insert(1, training.ResetCarriedState())
  best_path = os.path.join(workdir, 'best.weights.h5')
  if config.keep_best:
    # The threshold survives a resume through the history (the callback's own memory would not).
    callbacks.insert(3, keras.callbacks.ModelCheckpoint(
        best_path, monitor='val_elbo', mode='max', save_best_only=True, save_weights_only=True,
        initial_value_threshold=_previous_best(workdir, 'val_elbo')))
  if config.early_stopping_patience:
    callbacks.append(training.ResumableEarlyStopping(
        config.early_stopping_patience, _history_column(workdir, 'val_elbo')))
  if config.monitor_test:
    test_seqs = corpus.splits['test']
    callbacks.insert(callbacks.index(next(c for c in callbacks if isinstance(
        c, keras.callbacks.CSVLogger))), training.MonitorSplit(
            lambda m: bounds.evaluate_elbo(m, test_seqs, config.eval_samples,
                                           batch_size=config.batch_size,
                                           progress=False)['elbo_per_step'],
            previous_seconds=_previous_wall_seconds(workdir)))
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    json.dump(dataclasses.asdict(config), f, indent=2)

  start = time.time()
  history = model.fit(train_ds, epochs=config.epochs, steps_per_epoch=steps,
                      validation_data=valid_ds, validation_freq=config.validation_freq,
                      callbacks=callbacks, verbose=verbose)
  train_seconds = time.time() - start
  best_epoch = None
  if config.keep_best and os.path.exists(best_path):
    model.load_weights(best_path)
    best_epoch = _best_epoch(workdir, 'val_elbo')
    logging.info('keeping the weights of epoch %d (best validation ELBO)', best_epoch)
  if not training.weights_are_finite(model):
    raise training.NonFiniteLossError('training ended with non-finite weights; nothing saved')

  results = _evaluate_splits(model, corpus, config)
  hist = history.history
  speeds = hist.get('steps_per_sec', [])
  summary = {
      'config': dataclasses.asdict(config),
      'corpus': {'name': corpus.name, 'source': corpus.source, **{
          f'{k}_sequences': len(v) for k, v in corpus.splits.items()}},
      'steps_per_epoch': steps,
      'parameters': model.count_params(),
      'train_seconds_this_session': train_seconds,
      'train_steps_per_sec_median': float(np.median(speeds[1:] or speeds)) if speeds else None,
      'final_train': {k: float(v[-1]) for k, v in hist.items() if not k.startswith('val_')},
      'kept_epoch': best_epoch,   # 1-based; None: the last epoch's weights
      **results,
  }
  export.save_keras_atomic(model, os.path.join(workdir, 'model.keras'))
  export.export_saved_model(model, os.path.join(workdir, 'saved_model'),
                            export.metadata(model, config, results))
  with open(run_json, 'w') as f:
    json.dump(summary, f, indent=2)
  if results_dir:
    os.makedirs(results_dir, exist_ok=True)
    name = os.path.basename(os.path.normpath(workdir))
    shutil.copy(run_json, os.path.join(results_dir, f'{name}.json'))
    shutil.copy(os.path.join(workdir, 'history.csv'),
                os.path.join(results_dir, f'{name}.history.csv'))
  return summary
