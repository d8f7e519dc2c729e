#!/usr/bin/env bash
# The workflow from a git worktree of this checkout (../workflow-lane, at its HEAD), its runs,
# logs and results landing in this checkout, so that code can be edited here while it trains
# (a training re-reads its source files: its own code must not change under it).
#
#   workflow/worktree.sh start     # start (or move to a newer HEAD: stop first); options after
#                                  # it go to snakemake (`start --cores 1`: one job at a time)
#   workflow/worktree.sh stop      # Snakemake stops its jobs; each training loses at most its
#                                  # current epoch and resumes when started again
#   workflow/worktree.sh status    # what trains, at which epoch
#
# Anything else is passed to snakemake in the worktree, e.g. `workflow/worktree.sh -n`.
#
# The run folders live outside the checkout, in $SRNN_TF_RUNS (default ~/srnn_tf_runs), and
# runs/ links to them: a machine can come back to a later session with its work tree laid
# anew, and a training of hours then resumes instead of starting over (BUILD_NOTES.md).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(dirname "$here")/workflow-lane
runs=${SRNN_TF_RUNS:-$HOME/srnn_tf_runs}
folders=(--config "results_dir=$here/results/runs" "runs_dir=$here/runs" "logs_dir=$here/logs")
in_tree() { (cd "$tree" && "$here/.venv/bin/snakemake" "${folders[@]}" "$@"); }

case ${1:-} in
  start)
    [ -d "$tree" ] || git -C "$here" worktree add -q --detach "$tree" HEAD
    git -C "$tree" checkout -q --detach "$(git -C "$here" rev-parse HEAD)"
    mkdir -p "$here/logs" "$runs"
    [ -e "$here/runs" ] || ln -s "$runs" "$here/runs"
    if pgrep -f "snakemake.*results_dir=$here/results/runs" > /dev/null; then
      echo 'a workflow is already running: `workflow/worktree.sh stop` first' >&2; exit 1
    fi
    # No workflow runs, so a lock left in the worktree is stale (a killed session gives
    # Snakemake no chance to release it).
    in_tree --unlock > /dev/null 2>&1
    shift
    (cd "$tree" && nohup "$here/.venv/bin/snakemake" "${folders[@]}" "$@" \
      >> "$here/logs/workflow.log" 2>&1 &)
    echo "workflow started in $tree at $(git -C "$tree" rev-parse --short HEAD); log: logs/workflow.log" ;;
  stop)
    # Snakemake waits for its running jobs after a SIGTERM: they are stopped too (each
    # training saves nothing further and resumes from its last finished epoch).
    pkill -TERM -f "snakemake.*results_dir=$here/results/runs" || echo 'no workflow running'
    pkill -TERM -f "^[^ ]*python[^ ]* $tree/" || true
    while pgrep -f "snakemake.*results_dir=$here/results/runs|^[^ ]*python[^ ]* $tree/" \
        > /dev/null; do sleep 1; done ;;
  status)
    for pid in $(pgrep -f "^[^ ]*python[^ ]* $tree/(train|eval|generate)\.py"); do
      args=$(tr '\0' ' ' < "/proc/$pid/cmdline")
      name=$(grep -o -- '--output_dir=[^ ]*' <<< "$args" || grep -o -- '--run=[^ ]*' <<< "$args")
      name=$(basename "${name#*=}")
      echo "$(basename "$(cut -d' ' -f2 <<< "$args")") $name:" \
        "$(grep -o 'epoch [0-9]*:' "$here/logs/$name.log" 2>/dev/null | tail -1 | tr -d :)"
    done ;;
  *) in_tree "$@" ;;
esac
