#!/usr/bin/env python3
"""From a failure brood up detects to the replacement running, against the restart floor, in one run.

  failure_restart.py --brood PATH [--bin DIR] [--programs 10] [--tries 100] [--watchdog-ms 300]

Each case runs --programs copies of a program that notes its start and, when told (SIGUSR1), fails
in its own way; the driver takes the time from the moment the failure is due to be seen to the
replacement's start note (both CLOCK_MONOTONIC, the programs' own notes). Cases:

  floor          bench/restart_floor.c (waitpid + posix_spawn, nothing else) running
                 bench/supervised_program.c, which exits 1: from its exit note
  exit           brood up running the same program: from its exit note (its plain restart)
  watchdog       brood up, watchdog = --watchdog-ms, running bench/watchdog_program.c, which stops
                 sending WATCHDOG=1: from its last WATCHDOG=1 plus the watchdog's period, when
                 brood's watchdog runs out (brood then sends SIGABRT, waits for the end, restarts)

A case is one entry of CASES: a program, the brood.toml lines it needs and the delay after the
program's failure note at which the failure counts as due. A failed health check is added the same
way: a program that starts failing its check when told, noting when, and the check's interval and
retries as the delay.

Every victim has run for over 1.5 s, past brood's start_seconds (1 s): its run had started.
Prints a Markdown table (median, p90, max; the median's ratio to the floor's) and the load.
Run as root (the driver is a subreaper that ends whatever is left, as supervisor_compare.py's).
"""
import argparse
import ctypes
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from supervisor_compare import (PR_SET_CHILD_SUBREAPER, load, notes, quantile,  # noqa: E402
                                stop_and_clean, wait_for)

RIPE_NS = 1.5e9  # a victim has run this long: past start_seconds


def die(message):
    sys.exit(f"failure_restart: {message}")


def brood_case(brood, program_lines):
    def setup(root, n, program):
        conf = os.path.join(root, "brood.toml")
        with open(conf, "w") as f:
            # The start limit lifted, as in supervisor_compare.py: each program restarts many times.
            for i in range(n):
                f.write(f'[programs.p{i}]\ncommand = ["{program}"]\nstart_limit = {{ burst = 1000 }}\n'
                        f'{program_lines}\n')
        return [brood, "up", "-c", conf]
    return setup


def floor_case(floor):
    def setup(root, n, program):
        return [floor, str(n), program]
    return setup


def trial(name, argv_setup, program, n, tries, due_after_ns):
    root = tempfile.mkdtemp(prefix="brood-failrestart-")
    log = os.path.join(root, "notes.log")
    open(log, "w").close()
    argv = argv_setup(root, n, program)
    sup = subprocess.Popen(argv, env=dict(os.environ, BENCH_START_LOG=log), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "stderr.txt"), "w"), cwd=root)
    latencies = []
    try:
        seen = notes(log)
        wait_for(lambda: (seen.poll(), len(seen.starts) >= n or sup.poll() is not None)[1], 60,
                 f"{name}: {n} programs started")
        if sup.poll() is not None:
            raise RuntimeError(f"{name} exited with {sup.returncode}")
        for _ in range(tries):
            def ripe():
                seen.poll()
                now = time.monotonic_ns()
                return [p for p, ns in seen.starts.items() if now - ns > RIPE_NS]
            wait_for(lambda: ripe(), 30, f"{name}: a program running for 1.5 s")
            victim = min(ripe(), key=lambda p: seen.starts[p])
            before = len(seen.all_starts)
            os.kill(victim, signal.SIGUSR1)
            wait_for(lambda: (seen.poll(), len(seen.all_starts) > before and victim in seen.exits)[1], 30,
                     f"{name}: replacement of {victim}")
            if sup.poll() is not None:
                raise RuntimeError(f"{name} exited with {sup.returncode}")
            latencies.append((seen.all_starts[before] - seen.exits[victim] - due_after_ns) / 1e3)
    except (TimeoutError, RuntimeError) as e:
        with open(os.path.join(root, "stderr.txt")) as f:
            tail = f.read()[-800:]
        die(f"{e}; its stderr ends: {tail!r}")
    finally:
        stop_and_clean(sup, root)
    return latencies


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--brood", required=True, help="the brood command")
    p.add_argument("--bin", help="where supervised_program, watchdog_program and restart_floor are built "
                                 "(default: build-bench/bench)")
    p.add_argument("--programs", type=int, default=10)
    p.add_argument("--tries", type=int, default=100)
    p.add_argument("--watchdog-ms", type=int, default=300)
    args = p.parse_args()
    if not 1 <= args.programs <= 100 or not 1 <= args.tries <= 10000 or not 50 <= args.watchdog_ms <= 10000:
        p.error("--programs 1..100, --tries 1..10000, --watchdog-ms 50..10000")
    if os.geteuid() != 0:
        die("run as root")
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    bin_dir = os.path.abspath(args.bin or os.path.join(os.path.dirname(__file__), "..", "build-bench", "bench"))
    built = {b: os.path.join(bin_dir, b) for b in ("supervised_program", "watchdog_program", "restart_floor")}
    for path in list(built.values()) + [args.brood]:
        if not os.access(path, os.X_OK):
            die(f"{path} is not built (see bench/run_all.sh)")
    brood = os.path.abspath(args.brood)

    watchdog_ns = args.watchdog_ms * 1_000_000
    # (name, setup, program, delay after the failure note at which the failure is due)
    CASES = [
        ("floor: exit → waitpid + posix_spawn", floor_case(built["restart_floor"]), built["supervised_program"], 0),
        ("brood up: exit → restart", brood_case(brood, ""), built["supervised_program"], 0),
        (f"brood up: missed watchdog ({args.watchdog_ms} ms) → restart",
         brood_case(brood, f'watchdog = "{args.watchdog_ms}ms"'), built["watchdog_program"], watchdog_ns),
    ]

    u = os.uname()
    print(f"Machine: Linux {u.release}, {os.cpu_count()} CPUs, load average {load()} at the start")
    print(f"Settings: --programs {args.programs} --tries {args.tries} --watchdog-ms {args.watchdog_ms}\n")
    results = []
    for name, setup, program, due in CASES:
        results.append((name, trial(name, setup, program, args.programs, args.tries, due)))
        print(f"  done: {name} (load {os.getloadavg()[0]:.2f})", file=sys.stderr)

    floor_median = statistics.median(results[0][1])
    print("| from the failure to the replacement's start | median µs | p90 µs | max µs | median vs floor |")
    print("|---|---:|---:|---:|---:|")
    for name, v in results:
        print(f"| {name} | {statistics.median(v):.0f} | {quantile(v, 0.9):.0f} | {max(v):.0f} | "
              f"{statistics.median(v) / floor_median:.2f}× |")
    print(f"\nLoad average at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
