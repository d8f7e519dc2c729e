"""Figures: piano rolls and reconstructions (matplotlib, written as PNG)."""

import matplotlib

matplotlib.use('Agg')  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from srnn_tf.keyboard import LOWEST_NOTE, NUM_KEYS  # noqa: E402

_C_KEYS = [k for k in range(NUM_KEYS) if (k + LOWEST_NOTE) % 12 == 0]


def _draw_roll(ax, roll, title, vmax=1.0):
  image = ax.imshow(np.asarray(roll).T, origin='lower', aspect='auto', cmap='Greys',
                    vmin=0.0, vmax=vmax, interpolation='nearest')
  ax.set_yticks(_C_KEYS)
  ax.set_yticklabels([f'C{(k + LOWEST_NOTE) // 12 - 1}' for k in _C_KEYS])
  ax.set_xlabel('frame')
  ax.set_title(title)
  return image


def save_piano_rolls(path, rolls, titles, suptitle=None):
  """One panel per piano roll `[T, 88]`, stacked vertically."""
  fig, axes = plt.subplots(len(rolls), 1, figsize=(12, 2.6 * len(rolls)), squeeze=False)
  for ax, roll, title in zip(axes[:, 0], rolls, titles):
    _draw_roll(ax, roll, title)
  if suptitle:
    fig.suptitle(suptitle)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def save_reconstruction(path, roll, probabilities, title,
                        label='reconstruction p(x_t | z_t, d_t)'):
  """The input roll and the model's reconstruction probabilities side by side (figure 1c);
  `label` says what the probabilities are."""
  fig, axes = plt.subplots(1, 2, figsize=(14, 4.2), sharey=True)
  _draw_roll(axes[0], roll, 'input')
  image = _draw_roll(axes[1], probabilities, label)
  fig.colorbar(image, ax=axes[1], fraction=0.04)
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def roll_image(roll, probabilities=None, scale: int = 2) -> np.ndarray:
  """A piano roll `[T, 88]` as a TensorBoard image `[88 * scale, T * scale, 1]` (uint8,
  high keys at the top, sounding keys white); with `probabilities` `[T, 88]`, those below it
  in grey levels, under a separating line."""
  def panel(values):
    return np.flipud(np.asarray(values, np.float32).T)
  image = panel(roll)
  if probabilities is not None:
    image = np.concatenate([image, np.full((1, image.shape[1]), 0.5, np.float32),
                            panel(probabilities)])
  image = np.kron(image, np.ones((scale, scale), np.float32))
  return (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)[..., None]
