#!/usr/bin/env bash
# The long experiments, in priority order. Finished runs are skipped (a run directory with its
# run.json, or on a fresh checkout its committed results/runs JSON) and interrupted ones
# resume: rerun this script to continue (see BUILD_NOTES, "Long experiments").
# Two lanes train side by side (two trainings at once give 1.2x the time steps/s of one on
# this 2-core machine: `python -m benchmarks.run`, "at once" line). `./run_queue.sh lane_b`
# runs one lane alone.
set -u
cd "$(dirname "$0")"
export TF_CPP_MIN_LOG_LEVEL=2
# The corpora: $SRNN_TF_DATA_DIR, else ../shared/data beside the checkout where it exists (this
# project's machines, which cannot download: without it every run would fail its download and
# the sweeps would move on), else the download cache.
if [ -z "${SRNN_TF_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  SRNN_TF_DATA_DIR=$(cd ../shared/data && pwd); export SRNN_TF_DATA_DIR
fi
RESULTS="${RESULTS_DIR:-results/runs}"
sweep() { .venv/bin/python -m experiments.sweep --results_dir="$RESULTS" "$@" >> logs/queue.log 2>&1; }
bounds() { .venv/bin/python -m experiments.evaluate_bounds --results_dir="$RESULTS" "$@" >> logs/queue.log 2>&1; }
# One train.py run named NAME (runs/NAME), unless its results JSON is committed.
once() {
  local name=$1; shift
  [ -e "$RESULTS/$name.json" ] && return
  echo "$(date -u +%FT%TZ) $name: started" >> logs/queue.log
  .venv/bin/python train.py "$@" --output_dir="runs/$name" --results_dir="$RESULTS" \
    >> "logs/$name.log" 2>&1
  echo "$(date -u +%FT%TZ) $name: exit $?" >> logs/queue.log
}
# A committed srnn2016 run evaluated from the release's own first input frames (as the paper's
# numbers were). Its run directory is not committed, so it is trained again first (same config
# and seed; its plain test ELBO, eval_elbo_test.json, shows it reproduces the committed run).
release_eval() {
  local name=$1; shift
  [ -e "$RESULTS/$name.eval_elbo_test_release_first_frame.json" ] && return
  echo "$(date -u +%FT%TZ) $name: release first frames" >> logs/queue.log
  { [ -e "runs/$name/model.keras" ] || .venv/bin/python train.py "$@" --output_dir="runs/$name" \
      --results_dir=; } >> "logs/$name.log" 2>&1 &&
  .venv/bin/python eval.py --run="runs/$name" --splits=test --results_dir="$RESULTS" \
    >> "logs/$name.log" 2>&1 &&
  .venv/bin/python eval.py --run="runs/$name" --splits=test --release_first_frame \
    --results_dir="$RESULTS" >> "logs/$name.log" 2>&1
}
# Sample statistics, MIDI, piano rolls and audio go beside the results' JSONs.
MUSIC="$(dirname "$RESULTS")/music"

# The chosen NADE models of one corpus and data version (`experiments.selection`): their sample
# statistics against the test split, beside the Bernoulli models' (best-validation epoch) where
# `bernoulli_music` has measured them, and two pieces of each (MIDI, piano roll; audio of the
# first). A model without a finished candidate, or whose chosen run's weights are not here,
# leaves it for later (said in logs/queue.log).
nade_music() {
  local dataset=$1 version=$2 runs run piece
  runs=$(.venv/bin/python -m experiments.selection --dataset=$dataset --data_version=$version \
    --results="$RESULTS" 2>> logs/queue.log) || return 0
  local include=$MUSIC/stats_${dataset}_${version}_keepbest.json
  [ -e "$include" ] || include=
  .venv/bin/python -m experiments.sample_stats --runs="$runs" --include="$include" \
    --dataset=$dataset --data_version=$version \
    --output="$MUSIC/stats_${dataset}_${version}_nade_models" >> logs/queue.log 2>&1
  for run in ${runs//,/ }; do
    piece="$MUSIC/$(basename "$run")/sample_seed1_0"
    [ -e "$piece.oga" ] && continue
    .venv/bin/python generate.py --run="$run" --num_pieces=2 --seed=1 --nowav \
      --output_dir="$(dirname "$piece")" >> logs/queue.log 2>&1 &&
    .venv/bin/python -c "from srnn_tf import audio; audio.render('$piece.mid', '$piece.oga', \
      sample_rate=22050)" >> logs/queue.log 2>&1
  done
}
# The Bernoulli models' sample statistics (their best-validation-epoch runs), then the NADE
# models' beside them.
bernoulli_music() {
  local dataset=$1 version=$2 model runs=
  for model in rnn vrnn_z100 srnn_z100; do runs+=,runs/${dataset}_${version}_${model}_d300_keepbest; done
  .venv/bin/python -m experiments.sample_stats --dataset=$dataset --data_version=$version \
    --runs="${runs#,}" --output="$MUSIC/stats_${dataset}_${version}_keepbest" \
    >> logs/queue.log 2>&1 &&
  nade_music $dataset $version
}
mkdir -p logs

# The reproduction's runs keep the GRU initialisation its finished runs have (the stacked
# orthogonal matrices; configs.REPRODUCTION), so that every comparison changes one thing.
SRNN2016=(--data_version=srnn2016 --gru_init=orthogonal)
# The release's Settings_SRNN defaults (learning rate 10^-2.5, /1.3 per epoch after 25).
SETTINGS=(--learning_rate=0.0031623 --lr_constant_epochs=25 --lr_decay=1.3)

# The comparison's three models at the paper protocol with --keep_best, on one corpus and
# data version (each one's bounds measured at once).
keep_best() {
  local dataset=$1 version=$2
  for model in rnn vrnn srnn; do
    local z=_z100; [ $model = rnn ] && z=
    once "${dataset}_${version}_${model}${z}_d300_keepbest" --dataset=$dataset \
      --data_version=$version --gru_init=orthogonal --model=$model --keep_best
  done
  bounds --datasets=$dataset
  case $dataset in jsb|nottingham) bernoulli_music $dataset $version ;; esac
}

lane_a() {
  # Runs that fit in one session first, each one's IWAE and SMC measured at once: a run
  # directory does not always outlive its session, and the bounds need its weights.
  # The SRNN ablation without Resq on Nottingham (srnn2016), then on MuseData.
  sweep --grid=ablations --datasets=nottingham
  bounds --datasets=nottingham
  # FIVO training (Maddison et al. 2017) on JSB against the ELBO-trained runs, both by SMC.
  for model in srnn vrnn; do
    once "jsb_srnn2016_${model}_fivo4_z100_d300" --dataset=jsb "${SRNN2016[@]}" \
      --model=$model --objective=fivo --num_particles=4 --nocarry_state
  done
  bounds --datasets=jsb
  sweep --grid=ablations --datasets=muse --retrain_unbounded
  bounds --datasets=muse
}

lane_b() {
  # The NADE comparison on the Boulanger splits: RNN-, VRNN- and SRNN-NADE, each one's dropout
  # chosen on validation, corpus by corpus, at the size that won on JSB (MLPs of 150 units, the
  # NADE pre-trained as RNN-NADE's was); the RNN, the anchor, first on each corpus; the latent
  # runs' SMC measured as each corpus finishes. Lane C has Nottingham.
  # The dropout candidates before the others: they won validation in every finished pair so
  # far, so the likely choices and their SMC come first; the rest completes the choice.
  for dataset in piano muse; do
    sweep --grid=nade_pretrain --data_version=boulanger --datasets=$dataset --name_contains=_rnn_
    sweep --grid=nade_pretrain --data_version=boulanger --datasets=$dataset --name_contains=dropd
    bounds --datasets=$dataset --all_sizes
    sweep --grid=nade_pretrain --data_version=boulanger --datasets=$dataset
    bounds --datasets=$dataset --all_sizes
  done
  # The SRNN ablations on the four Boulanger corpora, each one's IWAE and SMC; those trained on
  # an earlier machine without them are trained again (their weights are gone).
  for dataset in nottingham muse jsb piano; do
    sweep --grid=ablations --data_version=boulanger --datasets=$dataset --retrain_unbounded
    bounds --datasets=$dataset
  done
}

lane_c() {
  # The NADE comparison on Nottingham (as lane B's corpora), the report's z and d grids, the
  # NADE comparison on the srnn2016 data, then the cheap corpora's best-validation-epoch runs.
  sweep --grid=nade_pretrain --data_version=boulanger --datasets=nottingham --name_contains=_rnn_
  sweep --grid=nade_pretrain --data_version=boulanger --datasets=nottingham --name_contains=dropd
  sweep --grid=nade_pretrain --data_version=boulanger --datasets=nottingham
  bounds --datasets=nottingham --all_sizes
  nade_music nottingham boulanger
  # The report's remaining cells (srnn2016, paper protocol): Nottingham's z and d grids, and
  # MuseData's after JSB's last NADE candidate (a short run).
  sweep --grid=z,d --datasets=nottingham
  # JSB's VRNN-NADE with dropout (the candidate the other models had there).
  sweep --grid=nade_pretrain --data_version=boulanger --datasets=jsb
  bounds --datasets=jsb --all_sizes
  nade_music jsb boulanger
  sweep --grid=z,d --datasets=muse
  # The same comparison on the paper's data (srnn2016), the cheap corpora first.
  for dataset in jsb nottingham piano muse; do
    sweep --grid=nade_pretrain --data_version=srnn2016 --datasets=$dataset
    bounds --datasets=$dataset --all_sizes
    case $dataset in jsb|nottingham) nade_music $dataset srnn2016 ;; esac
  done
  for version in srnn2016 boulanger; do keep_best jsb $version; done
  for version in srnn2016 boulanger; do keep_best piano $version; done
}

# Lanes run from worktrees of this checkout (../laneb for lane_b, ...), at its HEAD, their
# runs, logs and results landing here, so that code can be edited here while they train:
#   ./run_queue.sh in_worktrees lane_b lane_c
# A worktree where a process still runs (a lane, or a training it started) is left alone: a
# training re-reads its source files, so its code must not change under it.
in_worktrees() {
  local here=$PWD head lane tree busy pid results
  head=$(git rev-parse HEAD)
  mkdir -p runs logs
  for lane in "$@"; do
    tree=$(dirname "$here")/${lane/_/}
    [ -d "$tree" ] || git worktree add -q --detach "$tree" "$head" || continue
    busy=
    for pid in /proc/[0-9]*; do
      case $(readlink "$pid/cwd" 2>/dev/null) in "$tree"|"$tree"/*) busy=${pid#/proc/} ;; esac
    done
    if [ -n "$busy" ]; then echo "$tree: process $busy runs there; $lane not started"; continue; fi
    git -C "$tree" checkout -q --detach "$head"
    for link in .venv runs logs; do [ -e "$tree/$link" ] || ln -s "$here/$link" "$tree/$link"; done
    case $RESULTS in /*) results=$RESULTS ;; *) results=$here/$RESULTS ;; esac
    (cd "$tree" && RESULTS_DIR="$results" nohup ./run_queue.sh "$lane" > /dev/null 2>&1 &)
    echo "$lane: started in $tree at ${head:0:7}"
  done
}

if [ $# -gt 0 ]; then "$@"; exit; fi
lane_b & lane_c & wait
lane_a

# The rest of the reproduction. Finished cells are skipped, so earlier sessions' work is not
# redone; the runs of the sessions before (sweeps of the paper, z/d grids on JSB and Piano,
# baselines, long schedules) are in results/runs and the git history of this file.
# IWAE and SMC (K = 100) of every finished run that has none yet (the ablations among them).
bounds
# The Nottingham and MuseData z and d grids (srnn2016), the report's remaining cells.
sweep --grid=z,d --datasets=nottingham,muse --jobs=2
# FIVO training (Maddison et al. 2017) against the ELBO-trained runs, both measured by SMC.
for model in srnn vrnn; do
  for dataset in jsb nottingham; do
    once "${dataset}_srnn2016_${model}_fivo4_z100_d300" --dataset=$dataset "${SRNN2016[@]}" \
      --model=$model --objective=fivo --num_particles=4 --nocarry_state &
  done
  wait
done
bounds --all_sizes
# Every model of the comparison also at its best-validation epoch (the RNN over-fits within
# the 50 epochs): same protocol, --keep_best.
for dataset in jsb piano nottingham muse; do
  for version in srnn2016 boulanger; do keep_best $dataset $version; done
done
# The NADE comparison's larger candidate sets (no pre-training; the paper's MLP sizes), which
# lost on JSB by 0.5 nats or more (TABLE.md), on both data versions.
for version in boulanger srnn2016; do
  sweep --grid=nade_pretrain,nade_small,nade --data_version=$version --datasets=jsb,nottingham,piano,muse --jobs=2
done
bounds --all_sizes
