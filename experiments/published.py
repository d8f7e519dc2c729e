"""The numbers published on these corpora, and the convention each was measured in.

Per-step numbers have two conventions, and each published number has its own:
- 'per_sequence': each sequence's log-likelihood / its length, then the mean over sequences.
  The SRNN paper's (its release divides each test sequence by its length): the srnn2016 data.
- 'per_step': total log-likelihood / total frames, every test time step weighted equally
  (longer pieces weigh more). Boulanger-Lewandowski et al.'s ("Evaluation notes" of their
  dataset page), hence RNN-NADE's: the Boulanger splits.
Our evaluations record both (`*_per_step` and `*_total_per_step`); `score` picks the one a
comparison with the data version's published numbers needs.
"""

import json
import os

# Test ELBO / log-likelihood per step as published.
PAPER_SRNN = {'jsb': -4.74, 'nottingham': -2.94, 'muse': -6.28, 'piano': -8.20}   # srnn2016
RNN_NADE = {'jsb': -5.19, 'nottingham': -2.31, 'muse': -5.60, 'piano': -7.05}      # Boulanger
# Krishnan, Shalit & Sontag 2017 (the DMM), Tables 3-4, on the Boulanger splits, as
# log-likelihoods per step (their NLLs negated): the importance-sampling estimate and the bound
# in the all-frames convention (our 'per_step'), and the bound per sequence ('per_sequence').
KRISHNAN = {
    'DMM-Aug.': {'estimate': {'jsb': -6.288, 'nottingham': -2.679, 'piano': -7.591,
                              'muse': -6.356},
                 'bound': {'jsb': -6.773, 'nottingham': -2.856, 'piano': -7.721, 'muse': -6.476},
                 'bound_per_sequence': {'jsb': -6.692, 'nottingham': -2.872, 'piano': -8.025,
                                        'muse': -5.766}},
    'DMM-Aug.-NADE': {'estimate': {'jsb': -5.118, 'nottingham': -2.305, 'piano': -7.048,
                                   'muse': -6.049},
                      'bound': {'jsb': -5.335, 'nottingham': -2.347, 'piano': -7.099,
                                'muse': -6.115},
                      'bound_per_sequence': {'jsb': -5.264, 'nottingham': -2.364,
                                             'piano': -7.361, 'muse': -5.247}},
}
# STORN (Bayer & Osendorfer 2014) as Krishnan et al. quote it (all frames, as their bounds).
STORN_QUOTED = {'jsb': -6.91, 'nottingham': -2.85, 'piano': -7.13, 'muse': -6.16}
# The report's table (srnn2016, d = 300), test ELBO per step over z.
REPORT = {
    2: {'muse': -6.4784, 'jsb': -4.8659, 'piano': -8.3599, 'nottingham': -3.3252},
    10: {'muse': -6.2908, 'jsb': -4.8187, 'piano': -8.2811, 'nottingham': -3.1740},
    25: {'muse': -6.3001, 'jsb': -4.8999, 'piano': -8.2323, 'nottingham': -3.1382},
    50: {'muse': -6.2638, 'jsb': -5.0851, 'piano': -8.1985, 'nottingham': -3.1101},
    100: {'muse': -6.2445, 'jsb': -5.4700, 'piano': -8.2100, 'nottingham': -3.0879},
}
REPORT_Z100 = REPORT[100]

# The models that read no input frame `u` (`SequenceModel.reads_inputs`; a test ties the two):
# `u_1`, and so the release's first input frames, cannot change their numbers.
WITHOUT_INPUTS = ('vrnn',)


def reads_no_inputs(run) -> bool:
  """Whether the run's model is one of `WITHOUT_INPUTS`."""
  return run.get('config', {}).get('model') in WITHOUT_INPUTS


CONVENTIONS = {'srnn2016': 'per_sequence', 'boulanger': 'per_step'}
CONVENTION_TEXT = {
    'per_sequence': "the SRNN paper's convention: each sequence's value / its length, mean "
                    'over sequences',
    'per_step': "Boulanger et al.'s convention: total / total frames, every test time step "
                'weighted equally'}


def score(result, version):
  """An evaluation's number per step in the convention of `version`'s published numbers.

  Args:
    result: an ELBO evaluation (`elbo_per_step`, `elbo_total_per_step`) or an IWAE/SMC one
      (`log_p_per_step`, `log_p_total_per_step`), as run JSONs and eval JSONs hold them.
    version: 'srnn2016' or 'boulanger'.
  """
  stem = 'log_p' if 'log_p_per_step' in result else 'elbo'
  return result[f'{stem}_total_per_step' if CONVENTIONS[version] == 'per_step'
                else f'{stem}_per_step']


def load_run(path):
  """A run JSON (results/runs/<run>.json); for a search's candidate, which trains without
  evaluating the test split (`--noevaluate_test`), the test ELBO that `eval.py` measured once
  validation chose it (`<run>.eval_elbo_test.json`); for a run that predates the
  release-first-frame evaluation, that evaluation from
  `<run>.eval_elbo_test_release_first_frame.json`.

  Such a run's weights are not committed, so the workflow (its `release` rule) trains it again,
  same config and seed, and evaluates the new weights twice with the same posterior noise:
  from the release's first frames and plainly (`<run>.eval_elbo_test.json`). Training on CPU
  is not bit-reproducible, so that plain number differs from the run's own a little; it is
  kept as `test_release_first_frame_retrained_plain`, the like-for-like reference of the
  release-first-frame number.
  """
  with open(path) as f:
    run = json.load(f)
  stem = path[:-len('.json')]
  if 'test' not in run and os.path.exists(f'{stem}.eval_elbo_test.json'):
    with open(f'{stem}.eval_elbo_test.json') as f:
      run['test'] = json.load(f)['test']
    return run
  if 'test_release_first_frame' not in run and os.path.exists(
      f'{stem}.eval_elbo_test_release_first_frame.json'):
    with open(f'{stem}.eval_elbo_test_release_first_frame.json') as f:
      run['test_release_first_frame'] = json.load(f)['test']
    if os.path.exists(f'{stem}.eval_elbo_test.json'):
      with open(f'{stem}.eval_elbo_test.json') as f:
        run['test_release_first_frame_retrained_plain'] = json.load(f)['test']
  return run


def release_first_frame(run):
  """The srnn2016 test ELBO per step (per sequence) from the release's own first input
  frames, the way the paper's numbers were measured, or None.

  Runs evaluated before that evaluation existed have only `u_1 = x_1`
  (`test_leaky_first_frame`). On JSB that is the same evaluation (the release's first input
  frame is the first target frame in all 77 test pieces; tests/test_data.py); on the other
  corpora it is not, and does not count. A model in `WITHOUT_INPUTS` gives its plain number:
  the same by construction (two evaluations of it differ only by their posterior noise).
  """
  if reads_no_inputs(run):
    return run['test']['elbo_per_step']
  if 'test_release_first_frame' in run:
    return run['test_release_first_frame']['elbo_per_step']
  if run.get('config', {}).get('dataset') == 'jsb' and 'test_leaky_first_frame' in run:
    return run['test_leaky_first_frame']['elbo_per_step']
  return None
