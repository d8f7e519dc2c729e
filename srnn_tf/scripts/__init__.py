"""The entry points, as console scripts (`srnn-train`, `srnn-eval`, `srnn-generate`,
`srnn-reconstruct`, `srnn-tune`; `srnn-export` and `srnn-data` live with their modules). The
top-level `train.py`, `eval.py`, ... are shims that run them from a checkout."""
