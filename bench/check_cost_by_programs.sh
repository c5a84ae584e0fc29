#!/bin/bash
# What one exec health check costs as brood up grows, for docs/benchmarks.md's "where the spawner
# starts to pay":
#
#   bench/check_cost_by_programs.sh BROOD BENCH_BIN N...
#
# For each N: brood up (BROOD) with N copies of BENCH_BIN/supervised_program, each checked every
# 1 s by BENCH_BIN/noop_static; once they run, 10 s of CPU (about 10 N checks): that of brood's own
# processes (brood up, brood-guard, brood-spawner: /proc/PID/schedstat) and that of the cgroup
# brood makes for its instances (the programs, which sleep, and the checks). Prints per check:
# brood's processes, the checks, and both. Run as root, on a quiet machine; the cgroup figure needs
# brood's cgroup isolation (cgroup v2).
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,11p' "$0"; exit 2; }
brood=$(realpath "$1") bin=$(realpath "$2")
shift 2
for n in "$@"; do
    dir=$(mktemp -d /tmp/brood-check-cost-XXXXXX)
    for ((i = 0; i < n; i++)); do
        printf '[programs.p%d]\ncommand = ["%s/supervised_program"]\n' "$i" "$bin"
        printf 'health = { exec = ["%s/noop_static"], interval = "1s" }\n\n' "$bin"
    done > "$dir/brood.toml"
    (cd "$dir" && BENCH_START_LOG=/dev/null exec "$brood" up -c brood.toml > /dev/null 2> stderr.txt < /dev/null) &
    pid=$!
    sleep $((4 + n / 100))  # every program started, the first round of checks done
    own() {  # brood's processes' CPU ns, summed
        local total=0 p
        for p in $pid $(pgrep -P "$pid" -x brood-guard) $(pgrep -P "$pid" -x brood-spawner); do
            total=$((total + $(cut -d' ' -f1 "/proc/$p/schedstat")))
        done
        echo $total
    }
    # brood makes brood-up.PID beside it, in the cgroup v2 group this script runs in.
    stat=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)$(sed -n 's/^0:://p' /proc/self/cgroup)
    stat=${stat%/}/brood-up.$pid/cpu.stat
    usage() { awk '/^usage_usec/ { print $2 }' "$stat"; }
    fds=$(ls "/proc/$pid/fd" | wc -l)
    a=$(own) c=$(usage)
    sleep 10
    a2=$(own) c2=$(usage)
    checks=$((n * 10))
    brood_us=$(((a2 - a) / checks / 1000)) checks_us=$(((c2 - c) / checks))
    echo "programs $n, fds in brood $fds: brood's processes $brood_us µs per check, the checks $checks_us µs, both $((brood_us + checks_us)) µs"
    kill "$pid"
    wait "$pid" || true
    rm -rf "$dir"
done
