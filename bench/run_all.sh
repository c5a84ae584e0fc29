#!/bin/sh
# shellcheck disable=SC2086  # word splitting of the argument lists is intended
# Runs brood's benchmarks one after another, prints their tables and the goals, and draws
# docs/spawn_vs_memory.png; docs/benchmarks.md records what they printed. Installs the peers
# (scripts/install-deps --bench) but builds nothing: build first with
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBROOD_BUILD_BENCH=ON && cmake --build build-bench -j2
#
#   bench/run_all.sh [--build DIR] [--quick] [--max-load L] [--wait-quiet SECONDS] [SECTION...]
#
# SECTIONs (default: all): spawn (spawn_compare, spawn_memory, fork_compare, fd_limit, spawn_held_fds), monitor
# (monitor_storm, monitor_latency), init (init_compare), runc (init_runc.py: the inits as PID 1
# of a runc container; root), pool (pool_compare, pool_parallel_map, pool_fork_cost), supervisor
# (supervisor_compare.py: brood up, when the build has it, against supervisord, s6 and runit;
# log_throughput.py: brood up relaying a flood of lines to its log, against the program writing
# the file itself and through cat; http_cost.py: brood up --http's scrape time against brood status,
# and its memory and idle wake-ups against brood up without it; health_checks.py: the CPU, wake-ups
# and memory of exec health checks, against posix_spawn + waitpid; failure_restart.py: from a missed
# watchdog to the replacement, against the restart floor).
#
# Waits (up to --wait-quiet seconds, default 180) for the 1-minute load average to fall below
# --max-load (default 0.5) so that other work on the machine does not skew the numbers, and prints
# the load before every benchmark. --quick runs fewer rounds (a smoke test, not for the docs).
# The full output is also kept in DIR/bench_results-SECTIONS.txt. Exit status: 0 when every goal is met,
# 3 when some goal is not, 1 on error. fd_limit raises RLIMIT_NOFILE and so wants root.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build="$repo/build-bench"
quick=0
max_load=0.5
wait_quiet=180

while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        --max-load) max_load=$2; shift 2 ;;
        --wait-quiet) wait_quiet=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        spawn|monitor|init|runc|pool|supervisor) sections="${sections:-} $1"; shift ;;
        *) echo "run_all.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
sections=${sections:-spawn monitor init runc pool supervisor}
wants() { case " $sections " in *" $1 "*) return 0 ;; esac; return 1; }

"$repo/scripts/install-deps" --bench || exit 1

bin="$build/bench"
needed=""
wants spawn && needed="$needed noop_static spawn_floor spawn_compare spawn_memory fork_compare fd_limit spawn_held_fds"
wants monitor && needed="$needed monitor_storm monitor_latency"
wants init && needed="$needed init_compare"
wants runc && needed="$needed ../tools/brood/brood"
wants pool && needed="$needed pool_compare pool_parallel_map pool_fork_cost"
wants supervisor && needed="$needed supervised_program watchdog_program health_program restart_floor line_writer noop_static exec_check_floor"
for b in $needed; do
    if [ ! -x "$bin/$b" ]; then
        echo "run_all.sh: $bin/$b not built; see the build command at the top of this script" >&2
        exit 1
    fi
done

# One log per set of sections, so that running one section keeps the others' results.
log="$build/bench_results-$(echo $sections | tr ' ' '-').txt"
: > "$log"
say() { printf '%s\n' "$*" | tee -a "$log"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Pythons: Debian's, and the one first on PATH when it is another interpreter.
pythons="--python /usr/bin/python3"
path_python=$(command -v python3 || true)
if [ -n "$path_python" ]; then
    real_path_python=$("$path_python" -c 'import sys; print(sys.executable)' 2>/dev/null || true)
    if [ -n "$real_path_python" ] && [ "$real_path_python" != /usr/bin/python3 ] &&
        [ "$(readlink -f "$real_path_python")" != "$(readlink -f /usr/bin/python3)" ]; then
        pythons="$pythons --python $real_path_python"
    fi
fi

if [ "$quick" = 1 ]; then
    compare_args="--rounds 5 --batch-ms 15"; memory_args="--rounds 3 --batch-ms 20 --sizes 0,1"
    fork_args="--rounds 5 --batch-ms 15"; fd_args="--rounds 3 --batch-ms 15"
    storm_args="--counts 100,1000 --rounds 3"; latency_args="--tries 100 --others 0,1000 --memory-children 1000"
    init_args="--runs 5 --rounds 5 --storm 1000 --storm-trials 2"
    runc_args="--runs 10 --idle-containers 1 --storm 1000 --storm-trials 1 --shutdown-cap 7"
    pool_args="--n 100000 --python-n1 1000 --rounds 3"; map_args="--gib 0.25 --rounds 2"; fork_cost_args="--rounds 2 --gib 0,1"
    supervisor_args="--counts 3,20 --restarts 5 --idle-seconds 2"
    failure_args="--programs 3 --tries 5"
    log_args="--seconds 2"
    http_args="--instances 50 --requests 20 --idle-seconds 2 --rounds 1"
else
    compare_args="--rounds 15 --batch-ms 40"; memory_args="--rounds 9 --batch-ms 60 --sizes 0,1,4"
    fork_args="--rounds 41 --batch-ms 40"; fd_args="--rounds 9 --batch-ms 40"
    storm_args="--counts 100,1000,10000 --rounds 7"; latency_args="--tries 1000 --others 0,1000,9999 --memory-children 10000"
    init_args="--runs 20 --rounds 30 --storm 10000 --storm-trials 5"
    runc_args="--runs 300 --idle-containers 4 --storm 10000 --storm-trials 3 --shutdown-cap 10"
    pool_args="--n 1000000 --rounds 5"; map_args="--gib 1 --rounds 5"; fork_cost_args="--rounds 5 --gib 0,1,4"
    supervisor_args="--counts 10,500 --restarts 200 --idle-seconds 60"
    failure_args="--programs 10 --tries 100 --watchdog-ms 1000"
    log_args="--seconds 10"
    http_args="--instances 500 --requests 200 --idle-seconds 30 --rounds 3"
fi

waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }'; do
    if [ "$waited" -ge "$wait_quiet" ]; then
        say "WARNING: load average still $(load1) (>= $max_load) after ${waited}s; measuring anyway"
        break
    fi
    [ "$waited" = 0 ] && echo "run_all.sh: load $(load1) >= $max_load, waiting for a quiet machine..." >&2
    sleep 10
    waited=$((waited + 10))
done

say "# brood benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
say "machine: $(uname -srm), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
say "  $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2),"
say "  THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null), RLIMIT_NOFILE $(awk '/^Max open files/ { print $4 "/" $5 }' /proc/self/limits)"
say "build: $build ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)
say "source: ${source_dir:-unknown}, git $(git -C "${source_dir:-$repo}" log -1 --format='%h %s' 2>/dev/null || echo '(not a git checkout)')"

status=0
run() {
    name=$1; shift
    say ""
    say "## $name (load $(cut -d' ' -f1-3 /proc/loadavg))"
    say "\$ $*"
    "$@" 2>&1 | tee -a "$log"
    rc=$(cat "$build/.bench_rc")
    case "$rc" in
        0) ;;
        3) [ "$status" = 0 ] && status=3 ;;
        *) say "run_all.sh: $name failed (exit $rc)"; status=1 ;;
    esac
}
# tee hides the benchmark's exit status: keep it in a file.
# shellcheck disable=SC2317  # called through run
wrap() { "$@"; echo $? > "$build/.bench_rc"; }

if wants spawn; then
    rm -f "$build/spawn_memory.dat"
    run "spawn_compare" wrap "$bin/spawn_compare" $compare_args $pythons "$bin/noop_static" /bin/true
    run "spawn_memory" wrap "$bin/spawn_memory" $memory_args --python /usr/bin/python3 \
        --data "$build/spawn_memory.dat" "$bin/noop_static"
    run "fork_compare" wrap "$bin/fork_compare" $fork_args
    run "fd_limit" wrap "$bin/fd_limit" $fd_args "$bin/noop_static"
    run "spawn_held_fds" wrap "$bin/spawn_held_fds" $fd_args "$bin/noop_static"
fi
if wants monitor; then
    run "monitor_storm" wrap "$bin/monitor_storm" $storm_args
    run "monitor_latency" wrap "$bin/monitor_latency" $latency_args
fi
wants init && run "init_compare" wrap "$bin/init_compare" $init_args
wants runc && run "init_runc" wrap python3 "$here/init_runc.py" --brood "$build/tools/brood/brood" $runc_args
if wants pool; then
    run "pool_compare" wrap "$bin/pool_compare" $pool_args --python /usr/bin/python3
    run "pool_parallel_map" wrap "$bin/pool_parallel_map" $map_args
    run "pool_fork_cost" wrap "$bin/pool_fork_cost" $fork_cost_args
fi
if wants supervisor; then
    # brood up takes part once the build's brood command has it.
    brood_up=""
    "$build/tools/brood/brood" up --help >/dev/null 2>&1 && brood_up="--brood $build/tools/brood/brood"
    run "supervisor_compare" wrap python3 "$here/supervisor_compare.py" --program "$bin/supervised_program" \
        $brood_up $supervisor_args
    if [ -n "$brood_up" ]; then
        run "log_throughput" wrap python3 "$here/log_throughput.py" --writer "$bin/line_writer" $brood_up --rate 100 $log_args
        run "log_throughput (as fast as it can)" wrap python3 "$here/log_throughput.py" --writer "$bin/line_writer" \
            $brood_up --rate 0 $log_args
        run "http_cost" wrap python3 "$here/http_cost.py" $brood_up --floor "$bin/pread_floor" $http_args
        run "health_checks" wrap python3 "$here/health_checks.py" --program "$bin/supervised_program" \
            --check "$bin/noop_static" --floor "$bin/exec_check_floor" $brood_up
        run "failure_restart" wrap python3 "$here/failure_restart.py" $brood_up --bin "$bin" $failure_args
    fi
fi
rm -f "$build/.bench_rc"

if wants spawn && [ -s "$build/spawn_memory.dat" ] && command -v gnuplot >/dev/null; then
    subtitle="$(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), $(date -u '+%Y-%m-%d')"
    if gnuplot -e "datafile='$build/spawn_memory.dat'; outfile='$repo/docs/spawn_vs_memory.png'; subtitle='$subtitle'" \
        "$here/plot_spawn_memory.gp"; then
        say ""
        say "plot written: $repo/docs/spawn_vs_memory.png"
    else
        say "run_all.sh: gnuplot failed"; status=1
    fi
fi

say ""
say "## goals"
goals=$(grep '^goal ' "$log")
say "$goals"
say "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
