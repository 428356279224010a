#!/usr/bin/env bash
# compare.sh: runs actlab-bench and the PyTorch reference (bench/torch_ref.py, on Debian's
# python3-torch through /usr/bin/python3) on the workloads W1-W7 (W6f, W7g) at 1 and 2 threads, each
# workload in its own pair of processes, actlab then PyTorch, alternating so that drift hits
# both; then W4 for 50 steps alone in a fresh process per side for peak memory. Writes the
# side-by-side table into bench/RESULTS.md (between its compare.sh markers) and keeps the raw
# JSON lines beside it in bench/compare-last.jsonl.
#
# The machine is shared: before each pair it waits until other work leaves the CPUs idle, and
# it measures how much CPU time other processes took while each side ran; a pair disturbed
# by more than QUIET_MAX_BUSY percent is run again (up to PAIR_TRIES times, then kept and
# flagged by its figure in the table).
#
#   bench/compare.sh   # env: THREADS="1 2", WORKLOADS="W1 ... W6f W7 W7g", ACTLAB_BENCH=path,
#                      #      QUIET_MAX_BUSY=10 (percent), QUIET_TIMEOUT=600 (s), PAIR_TRIES=4
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bench=${ACTLAB_BENCH:-$root/build/bench/actlab-bench}
python=/usr/bin/python3
threads_list=${THREADS:-1 2}
workloads=${WORKLOADS:-W1 W2 W3 W4 W5 W6 W6f W7 W7g}
max_busy=${QUIET_MAX_BUSY:-10}
quiet_timeout=${QUIET_TIMEOUT:-600}
pair_tries=${PAIR_TRIES:-4}

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

# "busy total ours": all CPUs' non-idle and total jiffies from /proc/stat, and the CPU time
# of the finished children of shell process $1 (fields cutime + cstime of its stat). Callers
# pass their own $BASHPID, read outside the $(...) that calls this.
cpu_snapshot() {
  local c s total=0 i
  read -ra c < <(grep '^cpu ' /proc/stat)
  for i in 1 2 3 4 5 6 7 8; do total=$((total + c[i])); done
  read -ra s < <(cut -d')' -f2- "/proc/$1/stat")
  echo "$((total - c[4] - c[5])) $total $((s[13] + s[14]))"
}

# Percent of all CPU time that other processes used between two snapshots.
other_percent() {
  local b0 t0 o0 b1 t1 o1
  read -r b0 t0 o0 <<<"$1"
  read -r b1 t1 o1 <<<"$2"
  local other=$((b1 - b0 - (o1 - o0)))
  echo $((t1 > t0 && other > 0 ? 100 * other / (t1 - t0) : 0))
}

# Waits (up to $quiet_timeout s, then goes on with a warning) until other work leaves the CPUs
# idle for 2 s.
wait_quiet() {
  local deadline=$((SECONDS + quiet_timeout)) me=$BASHPID before busy
  while true; do
    before=$(cpu_snapshot "$me")
    sleep 2
    busy=$(other_percent "$before" "$(cpu_snapshot "$me")")
    ((busy > max_busy)) || return 0
    if ((SECONDS > deadline)); then
      echo "compare.sh: warning: CPUs ${busy}% busy with other work; measuring anyway" >&2
      return 0
    fi
    echo "compare.sh: CPUs ${busy}% busy with other work; waiting" >&2
    sleep 8
  done
}

load_1min() { cut -d' ' -f1 /proc/loadavg; }

# Runs one side once; prints its JSON line tagged with the side and the share of CPU time
# other processes took meanwhile ("other_pct").
run_side() {
  local side=$1 me=$BASHPID before json
  shift
  echo "compare.sh: $side: $*" >&2
  before=$(cpu_snapshot "$me")
  json=$("$@")
  jq -c --arg side "$side" --argjson other "$(other_percent "$before" "$(cpu_snapshot "$me")")" \
    '. + {side: $side, other_pct: $other}' <<<"$json"
}

# Runs actlab's then PyTorch's side of one measurement (arguments after the workload id are
# shared), again while other work disturbed either; appends the two lines to $measured.
run_pair() {
  local prefix=$1 w=$2 try a t
  shift 2
  for ((try = 1; try <= pair_tries; ++try)); do
    wait_quiet
    a=$(run_side "${prefix}actlab" "$bench" --workload "$w" --json "$@")
    t=$(run_side "${prefix}torch" "$python" "$here/torch_ref.py" --workload "$w" "$@")
    if (($(jq -s 'map(.other_pct) | max' <<<"$a$t") <= max_busy)); then break; fi
    echo "compare.sh: other work disturbed $w $*; running it again" >&2
  done
  printf '%s\n%s\n' "$a" "$t" >>"$measured"
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
  local load_start t w
  load_start=$(load_1min)
  for t in $threads_list; do
    for w in $workloads; do run_pair "" "$w" --threads "$t"; done
  done
  run_pair memory_ W4 --steps 50 --no-bound --threads 1
  machine_line "$load_start" >>"$measured"
  cp "$measured" "$here/compare-last.jsonl"
  "$python" "$here/compare_table.py" "$measured" "$here/RESULTS.md"
  echo "compare.sh: wrote $here/RESULTS.md" >&2
}

main "$@"
