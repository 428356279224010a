#!/usr/bin/env bash
# A scheduler runs a sweep's 3 shards as separate processes; their merge must equal the single
# run's summary.csv and summary.json, timings (ms_per_step) aside.
#   shards_engine.sh parallel|slurm ACTLAB SWEEP WORK_DIR
# parallel: GNU parallel on this machine. slurm: examples/slurm/sweep.sbatch submitted to a
# running Slurm (sinfo must answer), waiting for its merge job.
set -euo pipefail
engine=$1 actlab=$2 sweep=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$actlab" compare "$sweep" --out "$work/single" >/dev/null

case $engine in
  parallel)
    command -v parallel >/dev/null || {
      echo "GNU parallel is missing: apt-get install parallel (the Quickstart's package list has it)"
      exit 1
    }
    parallel --halt now,fail=1 "$actlab" compare "$sweep" --shard {}/3 --out "$work/shard-{}" \
      ::: 0 1 2 >/dev/null
    "$actlab" compare --merge "$work"/shard-* --out "$work/merged" >/dev/null
    ;;
  slurm)
    sinfo >/dev/null || { echo "no Slurm answers sinfo: start one (README, Slurm)"; exit 1; }
    SWEEP=$sweep SHARDS=3 OUT=$work ACTLAB=$actlab \
      bash "$(dirname "$0")/../examples/slurm/sweep.sbatch"
    for _ in $(seq 300); do
      [ -f "$work/merged/summary.json" ] && break
      sleep 1
    done
    ;;
  *) echo "unknown engine $engine"; exit 2 ;;
esac

# summary.csv without ms_per_step (4th column from the end); summary.json without its object.
untimed_csv() { awk -F, -v OFS=, '{ $(NF-3) = ""; print }' "$1"; }
untimed_json() { sed '/"ms_per_step": {/,/}/d' "$1"; }
diff <(untimed_csv "$work/single/summary.csv") <(untimed_csv "$work/merged/summary.csv")
diff <(untimed_json "$work/single/summary.json") <(untimed_json "$work/merged/summary.json")
test "$(wc -l <"$work/merged/summary.csv")" -gt 1
rm -rf "$work"
echo "the merge of 3 shards run by $engine equals the single run"
