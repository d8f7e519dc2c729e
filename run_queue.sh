#!/usr/bin/env bash
# The long experiments, one list in priority order (`queue`). Finished runs are skipped (a run
# directory with its run.json, or on a fresh checkout its committed results/runs JSON) and
# interrupted ones resume: rerun this script to continue (see BUILD_NOTES, "Long experiments").
# Two lanes walk the same list side by side (two trainings at once give 1.2x the time steps/s
# of one on this 2-core machine: `python -m benchmarks.run`, "at once" line), each leaving to
# the other the run or evaluation it holds (its lock; exit status 75), so neither idles while
# the list has work. `./run_queue.sh queue` runs one lane.
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
# An experiments module over the results folder, its output in the queue's log.
experiment() {
  .venv/bin/python -m "experiments.$1" --results_dir="$RESULTS" "${@:2}" >> logs/queue.log 2>&1
}
sweep() { experiment sweep "$@"; }
bounds() { experiment evaluate_bounds "$@"; }
# One train.py run named NAME (runs/NAME), unless its results JSON is committed.
once() {
  local name=$1 code; shift
  [ -e "$RESULTS/$name.json" ] && return
  echo "$(date -u +%FT%TZ) $name: started" >> logs/queue.log
  .venv/bin/python train.py "$@" --output_dir="runs/$name" --results_dir="$RESULTS" \
    >> "logs/$name.log" 2>&1
  code=$?
  case $code in
    75) echo "$(date -u +%FT%TZ) $name: training in the other lane; skipped" >> logs/queue.log ;;
    *) echo "$(date -u +%FT%TZ) $name: exit $code" >> logs/queue.log ;;
  esac
}
# Runs "$@" unless the other lane is running the same step (named $1): one lock file per step.
alone() {
  local step=$1 fd; shift
  exec {fd}>> "logs/.$step.lock"
  if flock -n "$fd"; then
    "$@"
  else
    echo "$(date -u +%FT%TZ) $step: in the other lane; skipped" >> logs/queue.log
  fi
  exec {fd}>&-
}
# Run NAME's weights in runs/NAME: trained again (same config "${@:2}" and seed) when a run of
# an earlier machine left only its committed results, which are not copied over.
weights_here() {
  local name=$1; shift
  [ -e "runs/$name/model.keras" ] ||
    .venv/bin/python train.py "$@" --output_dir="runs/$name" --results_dir= >> "logs/$name.log" 2>&1
}
# A committed srnn2016 run evaluated from the release's own first input frames (as the paper's
# numbers were). Its run directory is not committed, so it is trained again first (same config
# and seed; its plain test ELBO, eval_elbo_test.json, shows it reproduces the committed run).
release_eval() {
  local name=$1; shift
  [ -e "$RESULTS/$name.eval_elbo_test_release_first_frame.json" ] && return
  echo "$(date -u +%FT%TZ) $name: release first frames" >> logs/queue.log
  weights_here "$name" "$@" &&
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
# Whether the file $1 exists and is newer than every other argument that exists (an output
# made from inputs that have not changed since).
newer() {
  local out=$1 input; shift
  [ -e "$out" ] || return 1
  for input in "$@"; do [ ! -e "$input" ] || [ "$out" -nt "$input" ] || return 1; done
}
nade_music() {
  # The chosen NADE models' samples beside the Bernoulli models' (their keep_best rows). A
  # chosen run trained on an earlier machine has no weights here: its row is kept from the
  # last output, and the chosen runs that are here are sampled (again). With none here, the
  # last output's rows are joined to the Bernoulli rows.
  local dataset=$1 version=$2 runs run piece inputs=() includes=()
  runs=$(.venv/bin/python -m experiments.selection --dataset=$dataset --data_version=$version \
    --results="$RESULTS" --present_only 2>> logs/queue.log) || return 0
  local out=$MUSIC/stats_${dataset}_${version}_nade_models
  local bernoulli=$MUSIC/stats_${dataset}_${version}_keepbest.json
  # (the Bernoulli rows last: they replace any older copies of theirs in the last output)
  for include in "$out.json" "$bernoulli"; do [ -e "$include" ] && includes+=("$include"); done
  [ -n "$runs" ] || [ ${#includes[@]} -eq 2 ] || return 0   # nothing to sample or to join
  for run in ${runs//,/ }; do inputs+=("$RESULTS/$(basename "$run").json"); done
  newer "$out.json" "${inputs[@]}" "$bernoulli" ||   # the same chosen runs as last time: kept
  .venv/bin/python -m experiments.sample_stats ${runs:+--runs="$runs"} \
    --include="$(IFS=,; echo "${includes[*]}")" --dataset=$dataset --data_version=$version \
    --output="$out" >> logs/queue.log 2>&1
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
  local out=$MUSIC/stats_${dataset}_${version}_keepbest inputs=()
  for model in rnn vrnn_z100 srnn_z100; do
    runs+=,runs/${dataset}_${version}_${model}_d300_keepbest
    inputs+=("$RESULTS/${dataset}_${version}_${model}_d300_keepbest.json")
  done
  { newer "$out.json" "${inputs[@]}" ||
    .venv/bin/python -m experiments.sample_stats --dataset=$dataset --data_version=$version \
      --runs="${runs#,}" --output="$out" >> logs/queue.log 2>&1; } &&
  nade_music $dataset $version
}
mkdir -p logs

# The reproduction's runs keep the GRU initialisation its finished runs have (the stacked
# orthogonal matrices; configs.REPRODUCTION), so that every comparison changes one thing.
SRNN2016=(--data_version=srnn2016 --gru_init=orthogonal)

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
  case $dataset in
    jsb|nottingham) alone "music_${dataset}_$version" bernoulli_music $dataset $version ;;
  esac
}

# FIVO training (Maddison et al. 2017) on one corpus (srnn2016), the SRNN and the VRNN, both
# measured by SMC against their ELBO-trained runs: the protocol's (state carried across
# windows) and, like for like, the ELBO on the independent windows FIVO trains on.
fivo() {
  local dataset=$1
  for model in srnn vrnn; do
    once "${dataset}_srnn2016_${model}_fivo4_z100_d300" --dataset=$dataset "${SRNN2016[@]}" \
      --model=$model --objective=fivo --num_particles=4 --nocarry_state
    once "${dataset}_srnn2016_${model}_nocarry_z100_d300" --dataset=$dataset "${SRNN2016[@]}" \
      --model=$model --nocarry_state
  done
  bounds --datasets=$dataset
}

# The NADE comparison on one corpus and data version: RNN-, VRNN- and SRNN-NADE, each one's
# dropout chosen on validation, at the size that won on JSB (MLPs of 150 units, the NADE
# pre-trained as RNN-NADE's was). The RNN, the anchor, first; then the dropout candidates,
# which won validation in every finished pair, so the likely choices and their SMC come early;
# then the rest completes the choice. `nade X srnn2016 dropout` runs the dropout candidates
# only: srnn2016 holds the same four corpora as the Boulanger splits, framed differently, and
# on the Boulanger splits validation chose dropout in all 14 pairs, so on srnn2016 the queue
# trains the dropout candidates alone (`nade X srnn2016` would add the others).
nade() {
  local dataset=$1 version=$2 only=${3:-}
  [ "$only" = dropout ] ||
    sweep --grid=nade_pretrain --data_version=$version --datasets=$dataset --name_contains=_rnn_
  sweep --grid=nade_pretrain --data_version=$version --datasets=$dataset --name_contains=dropd
  if [ "$only" != dropout ]; then
    bounds --datasets=$dataset
    sweep --grid=nade_pretrain --data_version=$version --datasets=$dataset
  fi
  # A chosen candidate trained on an earlier machine before its test bounds were measured (its
  # weights are gone): trained again, same config and seed, reading its test split once.
  sweep --grid=nade_chosen --data_version=$version --datasets=$dataset --retrain_unbounded
  bounds --datasets=$dataset
  case $dataset in
    jsb|nottingham) alone "music_${dataset}_$version" nade_music $dataset $version ;;
  esac
}

# The SRNN ablations (filtering; smoothing without Resq) on one corpus ($1) of one data version
# ($2, the Boulanger splits by default), with IWAE and SMC.
ablations() {
  sweep --grid=ablations --data_version="${2:-boulanger}" --datasets=$1 --retrain_unbounded
  bounds --datasets=$1
}

# One corpus's srnn2016 baselines evaluated from the release's first input frames (trained
# again: their weights are gone), the "-" cells of TABLE.md's first table. Not the VRNN: it
# reads no input frame, so its number cannot change (the "=" cells).
release_evals() {
  local dataset=$1
  alone "release_${dataset}_rnn" release_eval "${dataset}_srnn2016_rnn_d300" \
    --dataset=$dataset "${SRNN2016[@]}" --model=rnn
  case $dataset in nottingham|piano)
    alone "release_${dataset}_filtering" release_eval \
      "${dataset}_srnn2016_srnn_filtering_z100_d300" --dataset=$dataset "${SRNN2016[@]}" \
      --inference=filtering ;;
  esac
  case $dataset in piano)
    alone release_piano_noresq release_eval piano_srnn2016_srnn_smoothing_noresq_z100_d300 \
      --dataset=piano "${SRNN2016[@]}" --noresq ;;
  esac
}

# Piano's z and d grids (srnn2016) evaluated from the release's first input frames, REPORT.md's
# "-" cells: trained before that evaluation existed, their weights gone, so trained again.
release_grid_piano() {
  local z d
  for z in 2 10 25 50 200; do
    alone "release_piano_z$z" release_eval "piano_srnn2016_srnn_z${z}_d300" --dataset=piano \
      "${SRNN2016[@]}" --z_dim=$z
  done
  for d in 50 500; do
    alone "release_piano_d$d" release_eval "piano_srnn2016_srnn_z100_d$d" --dataset=piano \
      "${SRNN2016[@]}" --d_dim=$d
  done
}

# Johnson 2017's tied-parallel models at his sizes (--config=tp_lstm_nade / balstm) on one
# corpus ($1) at the seeds $2 (comma-separated); $3, other named configs instead (the models
# with the SRNN's chain). Their runs are long: JSB's epoch takes minutes, Piano's a quarter of
# an hour, Nottingham's and MuseData's half an hour and more.
tied() {
  local dataset=$1 seeds=$2 models=${3:-balstm tp_lstm_nade} model seed name
  for model in $models; do
    for seed in ${seeds//,/ }; do
      name=$(.venv/bin/python -c "from srnn_tf import configs; print(configs.run_name(\
configs.get_config('$model', dataset='$dataset', seed=$seed)))")
      once "$name" --config=$model --dataset=$dataset --seed=$seed
      [ -e "runs/$name/model.keras" ] && alone "transposed_$name" transposed_eval "$name"
    done
  done
}

# A run evaluated on the test split transposed up two semitones (in D, as Johnson's Table 2),
# and untransposed on the same weights. A run whose weights are gone (trained on an earlier
# machine) is trained again first, same config and seed, without copying its results over the
# committed ones.
transposed_eval() {
  local name=$1; shift
  [ -e "$RESULTS/$name.eval_elbo_test_transpose2.json" ] && return
  echo "$(date -u +%FT%TZ) $name: transposed test" >> logs/queue.log
  weights_here "$name" "$@" &&
  .venv/bin/python eval.py --run="runs/$name" --splits=test \
    --output="runs/$name/eval_elbo_test_transpose0.json" --results_dir="$RESULTS" \
    >> "logs/$name.log" 2>&1 &&
  .venv/bin/python eval.py --run="runs/$name" --splits=test --transpose=2 --results_dir="$RESULTS" \
    >> "logs/$name.log" 2>&1
}
# The NADE comparison's chosen models of one corpus (Boulanger splits), transposed.
transposed() {
  local dataset=$1 name args
  while read -r name args; do
    # shellcheck disable=SC2086  # the run's flags, one word each
    alone "transposed_$name" transposed_eval "$name" $args
  done < <(.venv/bin/python -c "from experiments import sweep
for run in sweep.plan(['nade_chosen'], ['$dataset'], 'boulanger', results_dir='$RESULTS'):
  print(run.name, ' '.join(run.args))" 2>> logs/queue.log)
}

# The default GRU initialisation (each gate's block orthogonal on its own) against the
# reproduction's (the stacked matrices orthogonal), chosen on the validation sets of all eight
# corpus and version pairs: the paper's SRNN under its protocol with the default, beside the
# committed protocol runs (stacked). JSB and Nottingham (srnn2016) were measured when the
# default was chosen; the cheapest of the others first (JSB 5 minutes ... MuseData 2 hours).
gru_init() {
  local pair
  for pair in jsb:boulanger piano:boulanger piano:srnn2016 muse:srnn2016 nottingham:boulanger \
      muse:boulanger; do
    once "${pair%:*}_${pair#*:}_srnn_pergate_z100_d300" --dataset=${pair%:*} \
      --data_version=${pair#*:}
  done
}

# Every step, in priority order: what the open reproduction and comparison still need, then the
# extras. Both lanes run this; each step skips what is finished or held by the other lane.
queue() {
  # The tied-parallel models (Johnson 2017) on JSB; the default GRU initialisation on the six
  # pairs where it is not yet measured; the tied models' other JSB seeds, then Piano, then the
  # corpora of long epochs.
  tied jsb 0
  # The same two with the SRNN's frame-level chain: does a latent state help the strongest
  # emissions (JSB first)?
  tied jsb 0 'srnn_balstm srnn_tp_lstm_nade'
  # Whether transposition augmentation helps the chosen RNN-NADE and VRNN-NADE (JSB: minutes).
  sweep --grid=nade_augment --data_version=boulanger --datasets=jsb
  # The NADE comparison's chosen models on the test set in D (JSB and Piano: minutes each).
  for dataset in jsb piano; do transposed $dataset; done
  # The rest of the family (the DMM-Aug. and STORN, each emission's four candidates) on JSB,
  # Boulanger splits: validation-chosen as the NADE comparison's models are.
  sweep --grid=dmm,storn --data_version=boulanger --datasets=jsb
  gru_init
  tied jsb 1,2
  tied piano 0
  tied nottingham 0
  tied muse 0
  for dataset in nottingham muse; do transposed $dataset; done
  # The NADE comparison on the Boulanger splits: the SRNN-NADE at a = 150, cheapest corpus
  # first (Piano's run takes minutes, MuseData's and Nottingham's hours).
  for dataset in piano jsb muse nottingham; do nade $dataset boulanger; done
  # The NADE comparison on the paper's data (srnn2016), the dropout candidates (see `nade`):
  # the cheap corpora first (JSB, Piano). Then what takes minutes per run, ahead of the runs
  # of hours, since a session's machine may come without the last one's run directories (a
  # run of hours started late in a session may never finish): the Bernoulli JSB models at
  # their best-validation epoch (the paper protocol with --keep_best; their samples go beside
  # the NADE models'); how much of the NADE comparison's differences is seed noise (JSB,
  # Boulanger splits: each model's chosen run trained again at seeds 1-3, with its SMC); the
  # SRNN ablations on JSB and Piano (Boulanger splits; those trained on an earlier machine
  # without IWAE and SMC are trained again, their weights being gone); Piano's Bernoulli
  # models at their best-validation epoch; Piano's srnn2016 baselines from the release's first
  # input frames.
  fivo jsb
  for dataset in jsb piano; do nade $dataset srnn2016 dropout; done
  for version in srnn2016 boulanger; do keep_best jsb $version; done
  sweep --grid=nade_chosen --seeds=1,2,3 --data_version=boulanger --datasets=jsb
  bounds --datasets=jsb
  for dataset in jsb piano; do ablations $dataset; done
  for version in srnn2016 boulanger; do keep_best piano $version; done
  release_evals piano
  # Runs of hours: the NADE comparison on Nottingham (srnn2016), then Nottingham's Bernoulli
  # models at their best-validation epoch (their samples go beside the NADE models', sampled
  # while those models' weights are still on the machine), then the NADE comparison on
  # MuseData (srnn2016); the report's remaining cells (srnn2016,
  # paper protocol: the Nottingham and MuseData z and d grids); the SRNN ablations on MuseData
  # (srnn2016) and on the other two Boulanger corpora; FIVO on Nottingham; the other release
  # evaluations (RNNs of half an hour, then one SRNN); MuseData's Bernoulli models at their
  # best-validation epoch (up to two hours each).
  nade nottingham srnn2016 dropout
  for version in srnn2016 boulanger; do keep_best nottingham $version; done
  nade muse srnn2016 dropout
  sweep --grid=z,d --datasets=nottingham
  sweep --grid=z,d --datasets=muse
  ablations muse srnn2016
  for dataset in nottingham muse; do ablations $dataset; done
  fivo nottingham
  for dataset in nottingham muse; do release_evals $dataset; done
  for version in srnn2016 boulanger; do keep_best muse $version; done
  # Piano's z and d grids from the release's first frames (seven runs of about 15 minutes).
  release_grid_piano
  # Anything a step above left to the other lane and that lane then finished without it.
  bounds
  # The extras: how much of the NADE comparison is seed noise where it is not yet measured,
  # each model's chosen run trained again at seeds 1-3 as on JSB (Boulanger splits): JSB
  # (srnn2016: the SRNN-NADE 0.063 behind; 9 runs of minutes), then Nottingham (a tie, +0.008
  # for the SRNN-NADE; 9 runs of hours).
  sweep --grid=nade_chosen --seeds=1,2,3 --data_version=srnn2016 --datasets=jsb
  bounds --datasets=jsb
  sweep --grid=nade_chosen --seeds=1,2,3 --data_version=boulanger --datasets=nottingham
  bounds --datasets=nottingham
  # Not queued: the srnn2016 NADE candidates without dropout (`nade X srnn2016`, 12 runs of
  # hours each): on the Boulanger splits, the same corpora framed differently, validation
  # chose dropout in all 14 pairs, by 0.06 to 0.73 nats per frame.
  # Not queued: the NADE comparison's larger candidate sets (`--grid=nade_small,nade`: no
  # pre-training, the paper's MLP sizes) beyond Boulanger JSB, where every one of them lost to
  # the pre-trained candidates by 0.5 nats or more (TABLE.md); on the seven other corpus and
  # version pairs they would be about 140 runs.
}

# Lanes run from worktrees of this checkout (../laneb and ../lanec), at its HEAD, their runs,
# logs and results landing here, so that code can be edited here while they train:
#   ./run_queue.sh in_worktrees
# A worktree where a process still runs (a lane, or a training it started) is left alone: a
# training re-reads its source files, so its code must not change under it.
in_worktrees() {
  local here=$PWD head lane tree busy pid results
  head=$(git rev-parse HEAD)
  mkdir -p runs logs
  for lane in laneb lanec; do
    tree=$(dirname "$here")/$lane
    [ -d "$tree" ] || git worktree add -q --detach "$tree" "$head" || continue
    busy=
    for pid in /proc/[0-9]*; do
      case $(readlink "$pid/cwd" 2>/dev/null) in "$tree"|"$tree"/*) busy=${pid#/proc/} ;; esac
    done
    if [ -n "$busy" ]; then echo "$tree: process $busy runs there; not started"; continue; fi
    git -C "$tree" checkout -q --detach "$head"
    for link in .venv runs logs; do [ -e "$tree/$link" ] || ln -s "$here/$link" "$tree/$link"; done
    case $RESULTS in /*) results=$RESULTS ;; *) results=$here/$RESULTS ;; esac
    (cd "$tree" && RESULTS_DIR="$results" nohup ./run_queue.sh queue > /dev/null 2>&1 &)
    echo "lane started in $tree at ${head:0:7}"
  done
}

# Stops the lanes of `in_worktrees`, so that it can start them again at a newer HEAD: each
# lane's bash first (nothing starts the next step), then its sweeps and evaluation loops
# (nothing starts the next run), then its trainings and evaluations (a training loses at most
# the epoch it was in).
stop_lanes() {
  local pass pid trees="$(dirname "$PWD")/lane[bc]"
  for pass in 'run_queue.sh' '-m experiments\.' 'python'; do
    for pid in /proc/[0-9]*; do
      # shellcheck disable=SC2053  # $trees is a pattern
      case $(readlink "$pid/cwd" 2>/dev/null) in $trees|$trees/*) ;; *) continue ;; esac
      tr '\0' ' ' < "$pid/cmdline" 2>/dev/null | grep -q -- "$pass" && kill "${pid#/proc/}"
    done
    sleep 2
  done
}

# "N min left" for the training logging to $1 (`HH:MM:SS epoch N: ...` lines), to its epoch $2,
# at the median pace of its last few epochs (a pair of epochs across a restart does not count;
# the median, so that one epoch slowed by a pause or a benchmark does not skew it).
minutes_left() {
  grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2} (epoch [0-9]+:|resuming )' "$1" 2>/dev/null | tail -8 |
    awk -v total="$2" '
      BEGIN { n0 = -1 }
      $2 == "resuming" { n0 = -1; next }
      { split($1, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]; n = $3 + 0
        d = s - s0; if (d < 0) d += 86400   # past midnight
        if (n == n0 + 1 && d < 3600) {   # insertion sort: mawk has no asort
          for (i = pairs++; i > 0 && pace[i - 1] > d; i--) pace[i] = pace[i - 1]
          pace[i] = d }
        s0 = s; n0 = last = n }
      END { if (pairs) printf "%d min left",
              (pace[int((pairs - 1) / 2)] + pace[int(pairs / 2)]) / 2 * (total - last) / 60 }'
}

# What each lane is doing: its trainings (the last epoch logged, the time left) and evaluations.
status() {
  local pid cwd args name epochs epoch left
  for pid in $(pgrep -f 'train\.py|eval\.py|experiments\.sample_stats|generate\.py'); do
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    args=$(tr '\0' ' ' < "/proc/$pid/cmdline")
    case $args in
      *train.py*)
        name=$(grep -o -- '--output_dir=[^ ]*' <<< "$args"); name=$(basename "${name#*=}")
        epochs=$(grep -o -- '--epochs=[0-9]*' <<< "$args" | cut -d= -f2)
        # A named config's own epochs (--config=balstm: 200) are in the run's config.json.
        [ -n "$epochs" ] || epochs=$(grep -o '"epochs": [0-9]*' "runs/$name/config.json" \
          2>/dev/null | grep -o '[0-9]*$')
        epoch=$(grep -o 'epoch [0-9]*:' "logs/$name.log" 2>/dev/null | tail -1 | tr -d :)
        left=$(minutes_left "logs/$name.log" "${epochs:-50}")
        case $args in *early_stopping_patience*) [ -z "$left" ] || left="at most $left" ;; esac
        echo "$(basename "$cwd"): training $name, ${epoch:-starting (no epoch yet)} of \
${epochs:-50}${left:+, $left}" ;;
      *) echo "$(basename "$cwd"): ${args#*python* }" | cut -c1-150 ;;
    esac
  done
}

# The trainings the list still holds, in its order (evaluations and music not listed): each
# step's runs that have no run.json, as `experiments.sweep --dry_run` reports them.
todo() {
  sweep() {
    .venv/bin/python -m experiments.sweep --results_dir="$RESULTS" --dry_run "$@" 2>&1 |
      awk '(!/ finished/ || /trained again/) && !/^[0-9]+ runs,/'
  }
  once() {
    [ -e "$RESULTS/$1.json" ] || echo "$1 $(.venv/bin/python -c \
      'import sys; from srnn_tf import rundir; print(rundir.progress(sys.argv[1]))' "runs/$1")"
  }
  release_eval() {
    [ -e "$RESULTS/$1.eval_elbo_test_release_first_frame.json" ] ||
      echo "$1 to train again for the release's first frames"
  }
  bounds() { :; }
  alone() { shift; [ "$1" = release_eval ] && "$@"; }   # the music steps: not listed
  queue | awk '!seen[$1]++'
}

if [ $# -gt 0 ]; then "$@"; exit; fi
queue & queue & wait
