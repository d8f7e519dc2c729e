"""`srnn-demo`: a web page to play with a trained model. Pick a preset or a run folder, the
temperature, length and seed, optionally a MIDI file whose start the model continues; see the
piano roll, hear it (where fluidsynth is installed) and download the MIDI.

    pip install "srnn-tf[demo]"
    srnn-demo                                    # http://127.0.0.1:7860, every preset
    srnn-demo --run=runs/my_run --port=8000      # a run folder of yours beside them

Gradio serves the page (the `[demo]` extra). A request the model cannot take (a file that is
not MIDI, a length over `--max_frames`) is answered in the page, never with a traceback.
"""

import os
import tempfile

from absl import flags

from srnn_tf import cli

_RUNS = flags.DEFINE_list('run', [], 'Run folders (or .keras files) to offer beside the presets.')
_HOST = flags.DEFINE_string('host', '127.0.0.1', 'Address to serve on (0.0.0.0: every '
                            'interface).')
_PORT = flags.DEFINE_integer('port', 7860, 'Port to serve on.', lower_bound=1, upper_bound=65535)
_MAX_FRAMES = flags.DEFINE_integer('max_frames', 512, 'Longest piece a request may ask for '
                                   '(frames, primer included).', lower_bound=1)

PRESET_PREFIX = 'preset: '


class Models:
  """The models the page offers, each loaded on first use and kept."""

  def __init__(self, runs=()):
    from srnn_tf import presets
    self.choices = [PRESET_PREFIX + name for name in presets.names()] + list(runs)
    self._loaded = {}

  def get(self, choice: str):
    """`finished.Run` of `choice` (a preset or a run folder)."""
    if choice not in self._loaded:
      from srnn_tf import finished, presets
      if choice.startswith(PRESET_PREFIX):
        self._loaded[choice] = presets.load_run(choice[len(PRESET_PREFIX):])
      elif choice in self.choices:
        self._loaded[choice] = finished.load_run(choice)
      else:
        raise ValueError(f'{choice}: not a model this page offers')
    return self._loaded[choice]


def sample(models: Models, choice: str, temperature: float, frames: int, seed: int,
           primer: str | None, max_frames: int, out_dir: str) -> dict:
  """One request: the sampled piece's PNG, MIDI and (where fluidsynth is) WAV paths, and a
  status line. Raises `UserError`, `DataError` or `ValueError` saying what is wrong."""
  import numpy as np
  from srnn_tf import audio, plots
  from srnn_tf.data import midi
  from srnn_tf.errors import UserError
  frames, seed = int(frames), int(seed)
  if not 1 <= frames <= max_frames:
    raise UserError(f'length {frames}: choose 1 to {max_frames} frames')
  if not temperature > 0:
    raise UserError(f'temperature {temperature}: must be above 0')
  run = models.get(choice)
  prefix = None
  if primer:
    read, _ = midi.read_on_grid(primer, run.grid, transpose=True)
    prefix = read.roll[:max(1, min(len(read.roll), max_frames // 2))].astype(np.float32)
    if len(prefix) + frames > max_frames:
      raise UserError(f'length {frames} after a primer of {len(prefix)} frames: at most '
                      f'{max_frames} in all')
  piece = run.model.generate(frames, seed=(seed, 0), temperature=float(temperature),
                             prime=None if prefix is None else prefix[None]).numpy()[0]
  roll = piece if prefix is None else np.concatenate([prefix, piece])
  name = os.path.join(out_dir, f'{run.name}_seed{seed}_t{temperature:g}')
  midi.write_midi(roll.astype(np.uint8), name + '.mid',
                  frames_per_quarter=run.grid.frames_per_quarter, tempo=run.grid.tempo)
  title = f'{run.name}: seed {seed}, temperature {temperature:g}' + (
      f' (first {len(prefix)} frames: your primer)' if prefix is not None else '')
  plots.save_piano_rolls(name + '.png', [roll], [title])
  problem = audio.unavailable_reason()
  if problem is None:
    audio.render(name + '.mid', name + '.wav', sample_rate=22050)
  status = (f'Sampled {frames} frames from {run.name} ({int(roll.sum())} notes sounding). '
            + ('' if problem is None else f'No audio here: {problem}.'))
  return {'png': name + '.png', 'mid': name + '.mid',
          'wav': None if problem else name + '.wav', 'status': status}


def build_app(runs=(), max_frames: int = 512):
  """The Gradio page (`gradio.Blocks`), not yet launched."""
  import gradio as gr
  from srnn_tf.data.errors import DataError
  from srnn_tf.errors import UserError
  models = Models(runs)
  out_dir = tempfile.mkdtemp(prefix='srnn_demo_')

  def respond(choice, temperature, frames, seed, primer):
    try:
      result = sample(models, choice, temperature, frames, seed, primer, max_frames, out_dir)
    except (UserError, DataError, ValueError, OSError) as e:
      return None, None, None, f'**Could not sample:** {e}'
    return result['png'], result['wav'], result['mid'], result['status']

  with gr.Blocks(title='srnn_tf') as app:
    gr.Markdown('# srnn_tf\nSample polyphonic music from a trained model.')
    with gr.Row():
      with gr.Column():
        choice = gr.Dropdown(models.choices, value=models.choices[0] if models.choices else None,
                             label='Model', elem_id='model')
        temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label='Temperature',
                                elem_id='temperature')
        frames = gr.Number(64, precision=0, label=f'Length (frames, at most {max_frames})',
                           elem_id='frames')
        seed = gr.Number(0, precision=0, label='Seed', elem_id='seed')
        primer = gr.File(label='MIDI primer (optional): the model continues it',
                         type='filepath', elem_id='primer')
        button = gr.Button('Generate', variant='primary', elem_id='generate')
      with gr.Column():
        status = gr.Markdown(elem_id='status')
        image = gr.Image(type='filepath', label='Piano roll', elem_id='roll')
        sound = gr.Audio(type='filepath', label='Audio', elem_id='audio')
        midi_file = gr.File(label='MIDI', elem_id='midi')
    button.click(respond, [choice, temperature, frames, seed, primer],
                 [image, sound, midi_file, status])
  return app


def main(argv):
  del argv
  import logging
  os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')   # no calls out of the machine
  logging.getLogger('httpx').setLevel(logging.WARNING)   # Gradio's own requests, line by line
  try:
    import gradio  # noqa: F401
  except ImportError:
    return cli.fail('the demo needs Gradio: pip install "srnn-tf[demo]"')
  cli.import_tensorflow_quietly()
  app = build_app(_RUNS.value, _MAX_FRAMES.value)
  print(f'srnn-demo: http://{_HOST.value}:{_PORT.value}')
  app.queue().launch(server_name=_HOST.value, server_port=_PORT.value, show_error=False,
                     quiet=True)
  return 0


def run():
  """The `srnn-demo` console script."""
  cli.run(main)


if __name__ == '__main__':
  run()
