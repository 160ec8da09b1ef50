#!/usr/bin/env bash
# Runs a regression campaign as a Slurm job array: one shard of the suite per array task, then a
# merge job that starts when every shard succeeded and writes the report of a single run
# (report.json byte for byte, report.html, junit.xml). docs/regress.md, "On a cluster".
#
# Usage:
#   scripts/slurm/regress-array.sh [--wait] SUITE BASELINE CANDIDATE OUTDIR SHARDS [-- SBATCH_ARGS...]
#
#   SUITE      suite file (TOML)            BASELINE, CANDIDATE  table set directories
#   OUTDIR     shared directory for the shard results and the report (created)
#   SHARDS     number of array tasks (shards)
#   --wait     block until the merge job ends; exit with its code (0 ok, 5 regression)
#   SBATCH_ARGS  passed to both sbatch calls (e.g. --partition=long --account=svom)
#
# Environment: EIC_BENCH (the eic-bench binary, default: eic-bench on PATH),
# CPUS_PER_SHARD (default 1; each shard runs that many worker threads).
#
# Example (a 3-shard campaign of the example suite, from the repository root):
#   scripts/slurm/regress-array.sh --wait examples/regress/suite.toml examples/workplan-tables \
#       examples/regress/candidate-raised-imt /shared/regress-out 3
set -euo pipefail

wait_flag=()
if [[ "${1:-}" == "--wait" ]]; then
  wait_flag=(--wait)
  shift
fi
if [[ $# -lt 5 ]]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
suite=$(realpath "$1") baseline=$(realpath "$2") candidate=$(realpath "$3")
out=$(realpath -m "$4") shards=$5
shift 5
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "SHARDS must be a positive integer, got $shards" >&2; exit 2; }
bin=$(command -v "${EIC_BENCH:-eic-bench}" || true)
[[ -n "$bin" ]] || { echo "eic-bench not found: set EIC_BENCH=/path/to/eic-bench" >&2; exit 2; }
bin=$(realpath "$bin")
cpus=${CPUS_PER_SHARD:-1}
mkdir -p "$out"
rm -f "$out"/shard-*-of-"$shards".json

q() { printf '%q ' "$@"; }

# One shard per array task; the task ID is the shard number.
shard_cmd="$(q "$bin" regress "$suite" --baseline "$baseline" --candidate "$candidate" -o "$out" --jobs "$cpus") --shard \${SLURM_ARRAY_TASK_ID}/$shards"
array=$(sbatch --parsable --job-name=regress-shard --array="1-$shards" --cpus-per-task="$cpus" \
  --output="$out/slurm-shard-%a.out" "${extra[@]}" --wrap "$shard_cmd")
array=${array%%;*}
echo "shards: job array $array (tasks 1-$shards)"

# The merge starts only when every task of the array succeeded (afterok on the array).
merge_cmd="$(q "$bin" regress merge) $(printf '%q' "$out")/shard-*-of-$shards.json $(q -o "$out")"
merge=$(sbatch --parsable --job-name=regress-merge --dependency="afterok:$array" \
  --output="$out/slurm-merge.out" "${extra[@]}" "${wait_flag[@]}" --wrap "$merge_cmd") && rc=0 || rc=$?
merge=${merge%%;*}
echo "merge: job $merge (after $array)"
if [[ ${#wait_flag[@]} -gt 0 ]]; then
  cat "$out/slurm-merge.out" 2>/dev/null || true
  echo "merge job exit code: $rc"
  exit "$rc"
fi
echo "report when done: $out/report.html (job output in $out/slurm-merge.out)"
