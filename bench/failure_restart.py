#!/usr/bin/env python3
"""From a failure brood up detects to the replacement running, against the restart floor, in one run.

  failure_restart.py --brood PATH [--brood-before PATH] [--bin DIR] [--programs 10] [--tries 100] [--watchdog-ms 1000]
                     [--times]

Every case runs, at once, --programs copies of a program that notes its start and, when told (SIGUSR1), fails
in its own way; the driver takes the time from the moment the failure is due to be seen to the
replacement's start note (both CLOCK_MONOTONIC, the programs' own notes). Cases:

  floor          bench/restart_floor.c (waitpid + posix_spawn, nothing else) running
                 bench/supervised_program.c, which exits 1: from its exit note
  floor, stop    restart_floor --stop running bench/health_program.c, which, when told, notes
                 "hang" and writes its pid to the floor's pipe; the floor sends SIGTERM, waits for
                 that program's end and starts another: the least a failure that the supervisor
                 must end itself (a missed watchdog, a failed check) can cost, from the note
  floor, watchdog  restart_floor --watchdog running bench/watchdog_program.c: the least a missed
                 watchdog costs, found as systemd and brood find it (each WATCHDOG=1 moves the
                 deadline; a timer without slack at the deadline; SIGABRT, waitpid, posix_spawn)
  floor, check   restart_floor --check running bench/health_program.c and its check every 100 ms:
                 the least a failed check costs (the check's exit and reaping, SIGTERM, waitpid,
                 posix_spawn), from the failing check's note
  exit           brood up running the same program: from its exit note (its plain restart)
  watchdog       brood up, watchdog = --watchdog-ms, running bench/watchdog_program.c, which stops
                 sending WATCHDOG=1: from its last WATCHDOG=1 plus the watchdog's period, when
                 brood's watchdog runs out (brood then sends SIGABRT, waits for the end, restarts)
  failed check   brood up, health = { exec = [bench/health_program, "check"], interval = 100 ms,
                 retries = 1 }, running bench/health_program.c, which makes its check fail when
                 told: from the failing check's note, taken just before it exits 1 (brood then
                 counts it unhealthy, stops the program with SIGTERM, restarts it)

A brood case is one entry of brood_cases: the brood.toml lines it needs ("{name}" in them is the
program's name), a program and the delay after the program's failure note at which the failure
counts as due.

The cases take turns, one failure at a time (the order rotating each round), so that the machine's
load falls on each alike. Every victim has run for over 1.5 s, past brood's start_seconds (1 s):
its run had started.
With --times it prints first, for each case, every time it took (µs, sorted), to show how they spread.
Prints a Markdown table (median, p90, max; the median's ratio to the plain floor's, to the floor
with a stop, to the floor that finds the same failure the same way, and to brood up's plain restart; how many programs ended before their turn, a watchdog missed under load, which a
longer --watchdog-ms avoids) and the load.
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
                        f'{program_lines.replace("{name}", f"p{i}")}\n')
        return [brood, "up", "-c", conf]
    return setup


def floor_case(floor, *how):
    def setup(root, n, program):
        return [floor, *how, str(n), program]
    return setup


class running_case:
    """One case's supervisor and programs, running for the whole run: the cases take turns, one
    failure at a time, so that a change in the machine's load falls on every case alike."""

    def __init__(self, name, argv_setup, program, n, due_after_ns):
        self.name, self.n, self.due_after_ns = name, n, due_after_ns
        self.root = tempfile.mkdtemp(prefix="brood-failrestart-")
        log = os.path.join(self.root, "notes.log")
        open(log, "w").close()
        self.sup = subprocess.Popen(argv_setup(self.root, n, program), env=dict(os.environ, BENCH_START_LOG=log),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(self.root, "stderr.txt"), "w"), cwd=self.root)
        self.seen = notes(log)
        self.latencies = []
        self.unplanned = 0  # programs found gone before their turn

    def check(self):
        if self.sup.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.sup.returncode}")

    def started(self):
        wait_for(lambda: (self.seen.poll(), len(self.seen.starts) >= self.n or self.sup.poll() is not None)[1],
                 60, f"{self.name}: {self.n} programs started")
        self.check()

    def ripe(self):
        self.seen.poll()
        now = time.monotonic_ns()
        return [p for p, ns in self.seen.starts.items() if now - ns > RIPE_NS]

    def one_failure(self):
        while True:
            wait_for(self.ripe, 30, f"{self.name}: a program running for 1.5 s")
            victim = min(self.ripe(), key=lambda p: self.seen.starts[p])
            before = len(self.seen.all_starts)
            try:
                os.kill(victim, signal.SIGUSR1)
                break
            except ProcessLookupError:
                # Ended without being told: a watchdog missed because the machine's load held the
                # program back longer than the watchdog's period. Counted, and another one is taken.
                self.seen.starts.pop(victim)
                self.unplanned += 1
        wait_for(lambda: (self.seen.poll(), len(self.seen.all_starts) > before and victim in self.seen.exits)[1], 30,
                 f"{self.name}: replacement of {victim}")
        self.check()
        self.latencies.append((self.seen.all_starts[before] - self.seen.exits[victim] - self.due_after_ns) / 1e3)

    def stderr_tail(self):
        with open(os.path.join(self.root, "stderr.txt")) as f:
            return f.read()[-800:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--brood", required=True, help="the brood command")
    p.add_argument("--brood-before", help="an earlier build of the brood command: its cases as extra rows, "
                                          "for before and after a change in one run")
    p.add_argument("--bin", help="where supervised_program, watchdog_program, health_program and restart_floor "
                                 "are built "
                                 "(default: build-bench/bench)")
    p.add_argument("--programs", type=int, default=10)
    p.add_argument("--tries", type=int, default=100)
    p.add_argument("--watchdog-ms", type=int, default=1000)
    p.add_argument("--times", action="store_true", help="also every time of every case, sorted")
    args = p.parse_args()
    if not 1 <= args.programs <= 100 or not 1 <= args.tries <= 10000 or not 50 <= args.watchdog_ms <= 10000:
        p.error("--programs 1..100, --tries 1..10000, --watchdog-ms 50..10000")
    if os.geteuid() != 0:
        die("run as root")
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    bin_dir = os.path.abspath(args.bin or os.path.join(os.path.dirname(__file__), "..", "build-bench", "bench"))
    built = {b: os.path.join(bin_dir, b)
             for b in ("supervised_program", "watchdog_program", "health_program", "restart_floor")}
    for path in list(built.values()) + [args.brood]:
        if not os.access(path, os.X_OK):
            die(f"{path} is not built (see bench/run_all.sh)")
    brood = os.path.abspath(args.brood)

    watchdog_ns = args.watchdog_ms * 1_000_000
    # brood up's cases: (what, brood.toml lines, program, delay after the failure note at which the
    # failure is due)
    check = (f'health = {{ exec = ["{built["health_program"]}", "check"], interval = "100ms", retries = 1 }}\n'
             'environment = { BENCH_PROGRAM = "{name}" }')
    # Each with the index in CASES of the floor that finds the same failure the same way.
    brood_cases = [
        ("exit → restart", "", built["supervised_program"], 0, 0),
        (f"missed watchdog ({args.watchdog_ms} ms) → restart", f'watchdog = "{args.watchdog_ms}ms"',
         built["watchdog_program"], watchdog_ns, 2),
        ("failed health check → restart", check, built["health_program"], 0, 3),
    ]
    builds = [(brood, "brood up")] + ([(os.path.abspath(args.brood_before), "brood up, before")]
                                      if args.brood_before else [])
    floor = built["restart_floor"]
    CASES = [("floor: exit → waitpid + posix_spawn", floor_case(floor), built["supervised_program"], 0, 0),
             ("floor, stop: failure → SIGTERM + waitpid + posix_spawn", floor_case(floor, "--stop"),
              built["health_program"], 0, 1),
             (f"floor, watchdog: missed watchdog ({args.watchdog_ms} ms) → SIGABRT + waitpid + posix_spawn",
              floor_case(floor, "--watchdog", str(args.watchdog_ms * 1000)), built["watchdog_program"], watchdog_ns, 2),
             ("floor, check: failed check → SIGTERM + waitpid + posix_spawn", floor_case(floor, "--check", "100000"),
              built["health_program"], 0, 3)]
    CASES += [(f"{who}: {what}", brood_case(path, lines), program, due, own_floor)
              for path, who in builds for what, lines, program, due, own_floor in brood_cases]

    u = os.uname()
    print(f"Machine: Linux {u.release}, {os.cpu_count()} CPUs, load average {load()} at the start")
    print(f"Settings: --programs {args.programs} --tries {args.tries} --watchdog-ms {args.watchdog_ms}\n")
    running = []
    try:
        for name, setup, program, due, _ in CASES:
            running.append(running_case(name, setup, program, args.programs, due))
        for case in running:
            case.started()
        for t in range(args.tries):
            for case in running[t % len(running):] + running[:t % len(running)]:
                case.one_failure()
            if (t + 1) % 20 == 0:
                print(f"  done: {t + 1} of {args.tries} tries (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    except (TimeoutError, RuntimeError) as e:
        die(f"{e}; stderr ends: " + "; ".join(f"{c.name}: {c.stderr_tail()!r}" for c in running))
    finally:
        for case in running:
            stop_and_clean(case.sup, case.root)
    results = [(case.name, case.latencies) for case in running]
    if args.times:
        for name, v in results:
            print(name, sorted(int(x) for x in v))

    medians = [statistics.median(v) for _, v in results]
    floor_median, stop_floor_median, restart_median = medians[0], medians[1], medians[4]
    print("| from the failure to the replacement's start | median µs | p90 µs | max µs | median vs floor "
          "| median vs floor, stop | median vs the floor of its kind | median vs brood up's restart "
          "| ended unplanned |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (name, v), case, (*_, own_floor) in zip(results, running, CASES):
        median = statistics.median(v)
        print(f"| {name} | {median:.0f} | {quantile(v, 0.9):.0f} | {max(v):.0f} | {median / floor_median:.2f}× | "
              f"{median / stop_floor_median:.2f}× | {median / medians[own_floor]:.2f}× | "
              f"{median / restart_median:.2f}× | {case.unplanned} |")
    print(f"\nLoad average at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
