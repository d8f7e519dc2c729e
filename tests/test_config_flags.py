"""Configuration written once: every `Config` / `TuneConfig` field is a flag, and the sweep's
serialiser gives back the config it serialised when train.py's flags parse it."""

import dataclasses
import json

import pytest
from absl import flags

from experiments import sweep
from srnn_tf import cli, configs
from srnn_tf.data import registry
from srnn_tf.errors import UserError


def _parse(cls, argv, base):
  values = flags.FlagValues()
  cli.define_config_flags(cls, values)
  values(['prog', *argv])
  return dataclasses.replace(base, **cli.config_overrides(cls, values))


@pytest.mark.parametrize('cls', [configs.Config, configs.TuneConfig])
def test_every_field_is_a_flag_with_help(cls):
  values = flags.FlagValues()
  cli.define_config_flags(cls, values)
  for field in dataclasses.fields(cls):
    assert field.name in values, field.name
    assert values[field.name].help and values[field.name].default == \
        (list(map(str, field.default)) if isinstance(field.default, tuple) else field.default)


def test_sweep_runs_round_trip_through_train_flags():
  base = configs.CONFIGS['paper']
  runs = sweep.plan(list(sweep.GRIDS), list(registry.CORPORA), 'srnn2016')
  assert runs
  for run in runs:
    assert _parse(configs.Config, run.args, base) == run.config, run.args


def test_serialiser_covers_every_kind_of_field():
  config = dataclasses.replace(
      configs.CONFIGS['small'], embed_units=(7, 9), resq=False, carry_state=False,
      objective='fivo', num_particles=4, data_dir='/some where', learning_rate=3.5e-4,
      data_version='srnn2016', keep_best=True)
  argv = cli.config_argv(config, configs.CONFIGS['small'])
  assert '--noresq' in argv and '--embed_units=7,9' in argv and '--keep_best' in argv
  assert _parse(configs.Config, argv, configs.CONFIGS['small']) == config
  tune = configs.TuneConfig(beta=0.5, w_consonance=0.0, seed=3)
  assert _parse(configs.TuneConfig, cli.config_argv(tune), configs.TuneConfig()) == tune
  assert tune.weights['consonance'] == 0.0 and tune.weights['in_key'] == 1.0


def test_choices_and_ranges_are_checked_however_a_config_is_made():
  with pytest.raises(configs.UserError, match='--inference=forward: choose one of'):
    configs.get_config('small', inference='forward')
  with pytest.raises(configs.UserError, match='--baseline_decay=1.5'):
    configs.TuneConfig(baseline_decay=1.5)


def test_the_corpora_are_named_once():
  assert registry.CORPORA is configs.CORPORA and registry.VERSIONS is configs.VERSIONS
  assert sorted(configs.SMALLEST_FIRST) == sorted(configs.CORPORA)


def test_run_names_tell_apart_the_model_options():
  paper = configs.get_config('paper', dataset='jsb', data_version='boulanger',
                             **configs.PREVIOUS_DEFAULTS)
  assert configs.run_name(paper) == 'jsb_boulanger_srnn_z100_d300'
  small = dataclasses.replace(paper, model='rnn', emission='nade', hidden_units=150,
                              embed_units=(150,), d_dim=150, keep_best=True)
  assert configs.run_name(small) == 'jsb_boulanger_rnn_nade150_h150_e150_d150_keepbest'
  assert configs.run_name(dataclasses.replace(small, embed_units=(500, 500))) == \
      'jsb_boulanger_rnn_nade150_h150_e500x500_d150_keepbest'
  # The inference GRU's size: named where it is not the paper's, and only for the SRNN.
  srnn = dataclasses.replace(small, model='srnn')
  assert configs.run_name(srnn) == 'jsb_boulanger_srnn_nade150_h150_e150_z100_d150_keepbest'
  assert configs.run_name(dataclasses.replace(srnn, a_dim=150)) == \
      'jsb_boulanger_srnn_nade150_h150_e150_a150_z100_d150_keepbest'
  assert configs.run_name(dataclasses.replace(small, a_dim=150)) == configs.run_name(small)
  # A replicate at another seed is named so, last; seed 0 (every committed run) is not.
  assert configs.run_name(dataclasses.replace(srnn, seed=2)) == \
      'jsb_boulanger_srnn_nade150_h150_e150_z100_d150_keepbest_seed2'
  assert configs.run_name(dataclasses.replace(paper, model='rnn', seed=1)) == \
      'jsb_boulanger_rnn_d300_seed1'
  # FIVO always trains on independent windows; its ELBO control says that it does too.
  fivo = dataclasses.replace(paper, objective='fivo', num_particles=4, carry_state=False)
  assert configs.run_name(fivo) == 'jsb_boulanger_srnn_fivo4_z100_d300'
  assert configs.run_name(dataclasses.replace(fivo, objective='elbo', num_particles=1)) == \
      'jsb_boulanger_srnn_nocarry_z100_d300'



def test_run_names_of_the_dmm_and_storn():
  paper = configs.get_config('paper', dataset='jsb', data_version='boulanger',
                             **configs.PREVIOUS_DEFAULTS)
  dmm = dataclasses.replace(paper, model='dmm', dmm_augmented=True, a_dim=600,
                            hidden_units=200, keep_best=True)
  assert configs.run_name(dmm) == 'jsb_boulanger_dmm_aug_h200_z100_a600_keepbest'
  assert configs.run_name(dataclasses.replace(dmm, dmm_augmented=False, emission='nade')) == \
      'jsb_boulanger_dmm_nade150_h200_z100_a600_keepbest'
  storn = dataclasses.replace(paper, model='storn', a_dim=150)
  assert configs.run_name(storn) == 'jsb_boulanger_storn_a150_z100_d300'
  with pytest.raises(UserError, match="--dmm_augmented"):
    dataclasses.replace(paper, dmm_augmented=True)   # an SRNN
  with pytest.raises(dataclasses.FrozenInstanceError):   # so it stays as checked
    paper.epochs = 0


@pytest.mark.parametrize('change,message', [
    ({'epochs': '3'}, '"epochs" is "3", not an integer'),
    ({'data_version': None}, 'names no data_version: cannot tell which run it is'),
    ({'embed_units': [1, 'a']}, '"embed_units" is \\[1, "a"\\], not a list of integers'),
    ({'resq': 1}, '"resq" is 1, not true or false'),
    ({'epochs': 0}, '--epochs=0: must be at least 1'),
])
def test_a_recorded_config_is_checked_field_by_field(change, message):
  """A run folder's config.json read back: a field missing that names the run, of the wrong
  type or out of its range is one line naming the file, not a wrong corpus or a TypeError."""
  recorded = {**dataclasses.asdict(configs.Config()), **change}
  recorded = {k: v for k, v in recorded.items() if v is not None or k == 'data_dir'}
  with pytest.raises(UserError, match='^runs/x/config.json: ' + message):
    configs.from_dict(recorded, 'runs/x/config.json')
  assert configs.from_dict(dataclasses.asdict(configs.Config())) == configs.Config()


def test_a_run_folder_with_a_damaged_config_is_refused_naming_it(tmp_path):
  from srnn_tf import rundir
  recorded = dataclasses.asdict(configs.Config())
  del recorded['data_version']
  (tmp_path / 'config.json').write_text(json.dumps(recorded))
  with pytest.raises(UserError, match=f'{tmp_path}/config.json: names no data_version'):
    rundir.check_config(str(tmp_path), configs.Config())


@pytest.mark.parametrize('recorded, resumed, allowed', [
    ((200, 200), (2000, 2000), True),     # held throughout, and still held: trained further
    ((200, 200), (2000, 200), True),      # only --epochs grows: the decay starts at 200
    ((200, 200), (2000, 1000), False),    # held, then a decay from epoch 1000: another run
    ((200, 20), (200, 25), False),        # the decay would start elsewhere
    ((200, 20), (2000, 2000), False),
])
def test_a_held_learning_rate_may_stay_held_when_a_run_is_trained_further(
    tmp_path, recorded, resumed, allowed):
  from srnn_tf import rundir
  (epochs, constant), (new_epochs, new_constant) = recorded, resumed
  config = configs.Config(epochs=epochs, lr_constant_epochs=constant)
  rundir.write_config(str(tmp_path), config)
  more = dataclasses.replace(config, epochs=new_epochs, lr_constant_epochs=new_constant)
  if allowed:
    assert rundir.check_config(str(tmp_path), more) == config
  else:
    with pytest.raises(UserError, match=f'--lr_constant_epochs={new_constant} '
                                        f'\\(the run has {constant}\\)'):
      rundir.check_config(str(tmp_path), more)


def test_the_guarantees_list_every_field_a_resume_may_change():
  import pathlib
  from srnn_tf import rundir
  text = (pathlib.Path(__file__).resolve().parents[1] / 'docs' / 'guarantees.md').read_text()
  section = text[text.index('**Its config is its identity.**'):text.index('**Atomic files.**')]
  assert all(f'`--{name}`' in section for name in rundir.RESUMABLE_FIELDS), section
