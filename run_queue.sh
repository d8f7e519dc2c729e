#!/usr/bin/env bash
# Runs the paper protocol on every corpus and data version, one training at a time.
# Finished runs are skipped and interrupted ones resume: rerun this script to continue.
set -u
cd "$(dirname "$0")"
export TF_CPP_MIN_LOG_LEVEL=2
mkdir -p logs
for version in srnn2016 boulanger; do
  for dataset in jsb piano nottingham muse; do
    .venv/bin/python train.py --dataset=$dataset --data_version=$version "$@" \
      >> logs/${dataset}_${version}.log 2>&1 || echo "$dataset $version failed" >> logs/queue.log
  done
done
