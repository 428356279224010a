#!/usr/bin/env bash
# compare.sh: runs actlab-bench and the PyTorch reference (bench/torch_ref.py, on Debian's
# python3-torch through /usr/bin/python3) on the workloads W1-W6 at 1 and 2 threads, each
# workload in its own pair of processes, actlab then PyTorch, alternating so that drift hits
# both; then W4 for 50 steps alone in a fresh process per side for peak memory. Writes the
# side-by-side table into bench/RESULTS.md (between its compare.sh markers) and keeps the raw
# JSON lines beside it in bench/compare-last.jsonl.
#
#   bench/compare.sh            # env: THREADS="1 2", WORKLOADS="W1 ... W6",
#                               #      ACTLAB_BENCH=path, QUIET_MAX_BUSY=15 (percent),
#                               #      QUIET_TIMEOUT=600 (seconds to wait for it)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bench=${ACTLAB_BENCH:-$root/build/bench/actlab-bench}
python=/usr/bin/python3
threads_list=${THREADS:-1 2}
workloads=${WORKLOADS:-W1 W2 W3 W4 W5 W6}
max_busy=${QUIET_MAX_BUSY:-15}
quiet_timeout=${QUIET_TIMEOUT:-600}

die() {
  echo "compare.sh: $*" >&2
  exit 1
}

check_tools() {
  [[ -x $bench ]] || die "no actlab-bench at $bench; build it first:
  cmake -S $root -B $root/build -DCMAKE_BUILD_TYPE=Release
  cmake --build $root/build -j2 --target actlab-bench"
  [[ -x $python ]] || die "no $python (Debian's python3, for python3-torch)"
  "$python" -c 'import torch' 2>/dev/null ||
    die "$python cannot import torch: apt-get install python3-torch"
  command -v jq >/dev/null || die "jq is needed to tag the JSON lines: apt-get install jq"
}

# Percent of CPU time not idle over the next 2 seconds, from /proc/stat.
cpu_busy_percent() {
  local a b
  read -ra a < <(grep '^cpu ' /proc/stat)
  sleep 2
  read -ra b < <(grep '^cpu ' /proc/stat)
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  local idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $((total > 0 ? 100 * (total - idle) / total : 0))
}

# Waits (up to $quiet_timeout s, then goes on with a warning) until other work leaves the CPUs
# idle; leaves the last reading in $busy, which run_side records.
busy=0
wait_quiet() {
  local deadline=$((SECONDS + quiet_timeout))
  while busy=$(cpu_busy_percent) && ((busy > max_busy)); do
    if ((SECONDS > deadline)); then
      echo "compare.sh: warning: CPUs still ${busy}% busy; measuring anyway" >&2
      return
    fi
    echo "compare.sh: CPUs ${busy}% busy with other work; waiting" >&2
    sleep 8
  done
}

load_1min() { cut -d' ' -f1 /proc/loadavg; }

# Runs one side once and appends its JSON, tagged with the side and the CPU use by other work
# measured just before the pair started, to $measured.
run_side() {
  local side=$1
  shift
  echo "compare.sh: $side: $*" >&2
  "$@" | jq -c --arg side "$side" --argjson busy "$busy" '. + {side: $side, busy_before: $busy}' >>"$measured"
}

machine_line() {
  jq -cn --arg model "$(lscpu | sed -n 's/^Model name: *//p')" \
    --arg cores "$(nproc)" \
    --arg blas "$("$bench" --workload W1 --steps 1 --no-bound | sed -n 's/^OpenBLAS threads [0-9]* (\(.*\))$/\1/p')" \
    --arg commit "$(git -C "$root" rev-parse --short HEAD)" \
    --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --arg load_start "$1" --arg load_end "$(load_1min)" \
    '{machine: {model: $model, cores: $cores, blas: $blas, commit: $commit, date: $date,
                load_start: $load_start, load_end: $load_end}}'
}

main() {
  check_tools
  measured=$(mktemp)
  trap 'rm -f "$measured"' EXIT
  wait_quiet
  local load_start t w
  load_start=$(load_1min)
  for t in $threads_list; do
    for w in $workloads; do
      wait_quiet
      run_side actlab "$bench" --workload "$w" --threads "$t" --json
      run_side torch "$python" "$here/torch_ref.py" --workload "$w" --threads "$t"
    done
  done
  wait_quiet
  run_side actlab_memory "$bench" --workload W4 --steps 50 --no-bound --threads 1 --json
  run_side torch_memory "$python" "$here/torch_ref.py" --workload W4 --steps 50 --no-bound --threads 1
  machine_line "$load_start" >>"$measured"
  cp "$measured" "$here/compare-last.jsonl"
  "$python" "$here/compare_table.py" "$measured" "$here/RESULTS.md"
  echo "compare.sh: wrote $here/RESULTS.md" >&2
}

main "$@"
