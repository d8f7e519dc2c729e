"""The serving SavedModel: same numbers as Keras in a fresh process without srnn_tf or TFP,
reproducible sampling, readable errors, saved_model_cli, and the serving guide's REST bodies."""

import json
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from srnn_tf import export
from srnn_tf.testing import tiny

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Both emissions; the NADE ones check key-by-key sampling and the NADE's log_prob in plain TF
# ops; the tied models their per-key inputs and key axes. A latent model and the RNN with each
# emission: the VRNN's and the NADE RNN's signatures are the same code paths (each export
# takes seconds of tracing, and the fresh process seconds of loading).
MODELS = ('srnn', 'rnn', 'srnn_nade', 'balstm', 'tp_lstm_nade', 'dmm')

# Runs in a fresh interpreter: plain TensorFlow, as a serving client's process would. One
# process serves every model (an interpreter with TensorFlow takes seconds to start).
FRESH = r'''
import json, sys
import numpy as np
import tensorflow as tf
rolls = np.load(sys.argv[1])
out = {}
for path in sys.argv[2:]:
  loaded = tf.saved_model.load(path)
  score = loaded.signatures['score'](x=tf.constant(rolls['x']))
  default = loaded.signatures['serving_default'](x=tf.constant(rolls['x']))
  masked = loaded.signatures['score_masked'](x=tf.constant(rolls['x']),
                                             mask=tf.constant(rolls['mask']))
  recon = loaded.signatures['reconstruct'](x=tf.constant(rolls['x']))
  sample = [loaded.signatures['sample'](num_steps=tf.constant(16, tf.int64),
                                        seed=tf.constant(5, tf.int64))['piano_roll'].numpy()
            for _ in range(2)]
  tempered = {t: loaded.signatures['sample_tempered'](
                  num_steps=tf.constant(16, tf.int64), seed=tf.constant(5, tf.int64),
                  temperature=tf.constant(t))['piano_roll'].numpy().tolist()
              for t in (1.0, 0.5)}
  out[path] = {
      'score': {k: v.numpy().tolist() for k, v in score.items()},
      'default': {k: v.numpy().tolist() for k, v in default.items()},
      'masked': {k: v.numpy().tolist() for k, v in masked.items()},
      'reconstruct': recon['probabilities'].numpy().tolist(),
      'sample': sample[0].tolist(), 'sample_again': sample[1].tolist(),
      'tempered': tempered[1.0], 'cooler': tempered[0.5]}
out['modules'] = sorted(m for m in sys.modules if m.startswith(('srnn_tf', 'tensorflow_prob')))
print(json.dumps(out))
'''


@pytest.fixture(scope='module')
def exported_all(tmp_path_factory):
  """{name: (model, SavedModel path)} for every model of MODELS."""
  out = {}
  for name in MODELS:
    keras.utils.set_random_seed(0)
    model = tiny.model(name)
    model.build()
    path = str(tmp_path_factory.mktemp('export') / name)
    export.export_saved_model(model, path, metadata={'model': name})
    out[name] = model, path
  return out


@pytest.fixture(params=MODELS)
def exported(request, exported_all):
  return exported_all[request.param]


def _rolls(tmp_path):
  rng = np.random.default_rng(0)
  x = (rng.random((3, 11, 88)) < 0.1).astype(np.float32)
  mask = np.ones((3, 11), np.float32)
  mask[1, 7:] = 0
  mask[2, 4:] = 0
  x *= mask[..., None]
  path = tmp_path / 'rolls.npz'
  np.savez(path, x=x, mask=mask)
  return x, mask, path


def test_fresh_process_gives_the_keras_numbers(exported_all, tmp_path):
  x, mask, rolls = _rolls(tmp_path)
  paths = [path for _, path in exported_all.values()]
  result = subprocess.run([sys.executable, '-c', FRESH, str(rolls), *paths],
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  served = json.loads(result.stdout.strip().splitlines()[-1])
  assert served['modules'] == []      # neither srnn_tf nor TFP was imported to serve
  for name, (model, path) in exported_all.items():
    got = served[path]
    want = model.score(x, export.SCORE_SEED)
    for key in ('elbo', 'log_px', 'kl', 'frames', 'elbo_per_step'):
      np.testing.assert_allclose(got['score'][key], want[key].numpy(), rtol=1e-5, atol=1e-5,
                                 err_msg=f'{name} {key}')
      np.testing.assert_array_equal(got['default'][key], got['score'][key])
    masked = model.score({'x': x, 'mask': mask}, export.SCORE_SEED)
    np.testing.assert_allclose(got['masked']['elbo'], masked['elbo'].numpy(), rtol=1e-5,
                               err_msg=name)
    np.testing.assert_array_equal(got['masked']['frames'], [11, 7, 4])
    np.testing.assert_allclose(got['reconstruct'], model.reconstruct(x).numpy(), atol=1e-6,
                               err_msg=name)
    sample = np.array(got['sample'])
    assert sample.shape == (1, 16, 88) and set(np.unique(sample)) <= {0.0, 1.0}, name
    np.testing.assert_array_equal(sample, got['sample_again'], err_msg=name)
    # The seed's two int32 words are (0, 5); at temperature 1 it is `sample` itself.
    np.testing.assert_array_equal(sample, model.generate(16, 1, seed=(0, 5)), err_msg=name)
    np.testing.assert_array_equal(got['tempered'], sample, err_msg=name)
    np.testing.assert_array_equal(
        got['cooler'], model.generate(16, 1, seed=(0, 5), temperature=0.5), err_msg=name)
    assert (pathlib.Path(path) / 'metadata.json').exists()


def test_bad_inputs_fail_with_readable_errors(exported):
  _, path = exported
  sigs = tf.saved_model.load(path).signatures
  x = np.zeros((1, 5, 88), np.float32)
  cases = [
      (lambda: sigs['score'](x=tf.constant(x + 0.5)), 'only 0 and 1'),
      (lambda: sigs['reconstruct'](x=tf.constant(x * 2 + 2)), 'only 0 and 1'),
      (lambda: sigs['score_masked'](x=tf.constant(x), mask=tf.zeros([1, 4])),
       'batch and time shape of x'),
      (lambda: sigs['score_masked'](x=tf.constant(x), mask=tf.fill([1, 5], 0.5)),
       'mask must hold only 0 and 1'),
      (lambda: sigs['sample'](num_steps=tf.constant(0, tf.int64), seed=tf.constant(1, tf.int64)),
       'num_steps must be positive'),
      (lambda: sigs['sample'](num_steps=tf.constant(10**6, tf.int64),
                              seed=tf.constant(1, tf.int64)), 'num_steps must be <='),
  ] + [
      (lambda t=t: sigs['sample_tempered'](num_steps=tf.constant(4, tf.int64),
                                           seed=tf.constant(1, tf.int64),
                                           temperature=tf.constant(t)),
       'temperature must be a positive number') for t in (0.0, -1.0, float('nan'))
  ]
  for call, message in cases:
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
      call()
  # A wrong key count reaches the in-graph check (through the signature's binding fallback).
  with pytest.raises(Exception) as error:
    sigs['score'](x=tf.zeros([1, 5, 87]))
  messages, e = [], error.value
  while e is not None:
    messages.append(str(e))
    e = e.__cause__ or e.__context__
  assert any('x must have 88 keys' in m for m in messages), messages[-1][:500]


def test_saved_model_cli_lists_the_signatures(exported_all):
  # Every model's signatures come from one function (export.export_saved_model); the tool's
  # listing is read for the model with the most to serve (z chain, NADE sampling).
  _, path = exported_all['srnn_nade']
  cli = pathlib.Path(sys.executable).parent / 'saved_model_cli'
  out = subprocess.run([str(cli), 'show', '--dir', path, '--all'], capture_output=True,
                       text=True, timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  for name in ('serving_default', 'score', 'score_masked', 'sample', 'sample_tempered',
               'reconstruct'):
    assert f"signature_def['{name}']" in out.stdout
  for tensor in ("inputs['x']", "inputs['mask']", "inputs['num_steps']", "inputs['seed']",
                 "inputs['temperature']", "outputs['elbo_per_step']", "outputs['piano_roll']",
                 "outputs['probabilities']"):
    assert tensor in out.stdout


def _readme_rest_bodies():
  text = (ROOT / 'docs' / 'guide' / 'serving.md').read_text()
  return [json.loads(b) for b in re.findall(r'```json\n(.*?)\n```', text, flags=re.S)]


def test_readme_rest_bodies_run_on_their_signatures(exported):
  _, path = exported
  sigs = tf.saved_model.load(path).signatures
  bodies = _readme_rest_bodies()
  assert {b['signature_name'] for b in bodies} >= {'score', 'sample', 'sample_tempered'}
  for body in bodies:
    sig = sigs[body['signature_name']]
    specs = sig.structured_input_signature[1]
    inputs = {k: tf.constant(v, dtype=specs[k].dtype) for k, v in body['inputs'].items()}
    outputs = sig(**inputs)
    assert all(np.all(np.isfinite(v.numpy())) for v in outputs.values())
