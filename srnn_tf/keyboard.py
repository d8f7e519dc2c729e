"""The keyboard every piano roll here is laid on: 88 keys, key `k` the MIDI note
`LOWEST_NOTE + k` (A0..C8). The feature contract (`features.py`) and the MIDI files
(`midi.py`) both read it; it imports nothing, so that the light modules (music statistics,
rewards, plots) and the data library get it without TensorFlow or pretty_midi."""

LOWEST_NOTE = 21                               # A0
NUM_KEYS = 88                                  # A0..C8
HIGHEST_NOTE = LOWEST_NOTE + NUM_KEYS - 1      # C8
