"""Every model works as a plain Keras model from user code: compile, fit on numpy arrays and
on tf.data, callbacks, evaluate, predict, .keras save and load."""

import keras
import numpy as np
import pytest

import srnn_tf
from srnn_tf.data import pipeline
from srnn_tf.testing import tiny

# The public classes, by name, with the tiny models' sizes.
MODELS = {name: tiny.SIZES[name.lower()][1] for name in ('SRNN', 'VRNN', 'RNN')}
NADE = dict(emission='nade', nade_units=6)


# One tied model: the Keras paths (train_step, evaluate, predict, saving) are the base
# class's; the BALSTM's own maths is checked in tests/test_tied.py.
TIED = {'TPLSTMNADE': tiny.SIZES['tp_lstm_nade'][1]}
# The DMM (augmented), its NADE emission's paths being the other models'.
OTHERS = {'DMM': tiny.SIZES['dmm'][1], **TIED}


# The NADE emission on one model: it is a sub-layer that every model holds and saves alike
# (the other models' NADE generation and serving: tests/test_generate.py, test_export.py).
@pytest.mark.parametrize('name,emission', [(name, {}) for name in MODELS] + [('SRNN', NADE)] +
                         [(name, {}) for name in OTHERS])
def test_fit_evaluate_predict_save_load(name, emission, tmp_path):
  keras.utils.set_random_seed(0)
  rolls = (np.random.default_rng(0).random((32, 20, 88)) < 0.1).astype(np.float32)
  model = getattr(srnn_tf, name)(**{**MODELS, **OTHERS}[name], **emission)
  model.compile(optimizer=keras.optimizers.Adam(1e-2, epsilon=1e-4))
  csv = tmp_path / 'history.csv'
  first = model.fit(rolls, batch_size=8, epochs=2, verbose=0,
                    callbacks=[keras.callbacks.CSVLogger(str(csv))])
  assert first.history['loss'][1] < first.history['loss'][0]    # it learns
  assert csv.read_text().count('\n') == 3
  ds, steps = pipeline.train_dataset(list(rolls.astype(np.uint8)), seq_len=10, batch_size=8)
  model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
  results = model.evaluate(pipeline.eval_dataset(list(rolls.astype(np.uint8)), 8),
                           return_dict=True, verbose=0)
  assert set(results) >= {'loss', 'elbo', 'recon', 'kl'}
  assert results['loss'] == pytest.approx(-results['elbo'], rel=1e-5)
  predicted = model.predict(rolls[:5], batch_size=5, verbose=0)
  assert set(predicted) == {'elbo', 'log_px', 'kl', 'frames', 'elbo_per_step'}
  assert predicted['elbo'].shape == (5,)
  np.testing.assert_allclose(predicted['elbo_per_step'], predicted['elbo'] / 20, rtol=1e-5)
  path = str(tmp_path / 'model.keras')
  model.save(path)
  again = keras.saving.load_model(path)
  assert type(again) is type(model)
  np.testing.assert_allclose(again.score(rolls[:3])['elbo'], model.score(rolls[:3])['elbo'],
                             rtol=1e-6)
  again.fit(rolls, batch_size=8, epochs=1, verbose=0)   # a loaded model trains on


@pytest.mark.parametrize('name', ['srnn', 'vrnn', 'rnn'])
def test_dropout_rates_are_checked_and_survive_get_config(name):
  with pytest.raises(ValueError, match=r': dropout_emb_u=1.0: must be in \[0, 1\)$'):
    tiny.model(name, dropout_emb_u=1.0)
  model = tiny.model(name, dropout_d=0.5, dropout_emb_u=0.2)
  assert model.dropout['d'] == 0.5 and model.dropout['emb_u'] == 0.2
  assert type(model).from_config(model.get_config()).dropout == model.dropout


@pytest.mark.parametrize('name', ['balstm', 'tp_lstm_nade'])
def test_tied_models_dropout_survives_get_config(name):
  with pytest.raises(ValueError, match=r': dropout_lstm=1.5: must be in \[0, 1\)$'):
    tiny.model(name, dropout_lstm=1.5)
  model = tiny.model(name, dropout_lstm=0.5, key_position=False)
  again = type(model).from_config(model.get_config())
  assert again.dropout == model.dropout and again.key_position is False


def test_keras_load_model_after_import_srnn_tf_in_a_fresh_process(tmp_path):
  """The first thing a user does with a run: `keras.saving.load_model` on its model.keras,
  with the package imported (the model classes registered by `import srnn_tf`)."""
  import subprocess
  import sys
  model = tiny.model('srnn', seed=0)
  model.build()
  path = str(tmp_path / 'model.keras')
  model.save(path)
  x = (np.random.default_rng(0).random((1, 6, 88)) < 0.1).astype(np.float32)
  expected = float(model.score(x)['elbo'][0])
  code = f"""
import keras
import numpy as np
import srnn_tf
model = keras.saving.load_model({path!r})
x = (np.random.default_rng(0).random((1, 6, 88)) < 0.1).astype(np.float32)
print(type(model).__name__, float(model.score(x)['elbo'][0]))
"""
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  name, value = result.stdout.split()[-2:]
  assert name == 'SRNN' and float(value) == pytest.approx(expected, rel=1e-6)
