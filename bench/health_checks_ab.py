#!/usr/bin/env python3
"""The CPU two builds of brood up spend on exec health checks, side by side, in turns.

  health_checks_ab.py --program PATH --check PATH A_BROOD B_BROOD [--programs 500] [--interval 10]
                      [--seconds 30] [--rounds 3]

Each round runs bench/health_checks.py's cpu trial once for each build (the order alternating from
round to round, so that a drift of the machine falls on both alike): brood up with --programs copies
of bench/supervised_program, each with an exec check (--check, bench/noop_static) every --interval
s, and the CPU time of brood's own processes over --seconds once the first round of checks is
done. Prints µs per check for each trial, then each build's median. For a change whose cost is
smaller than a run of health_checks.py moves with the machine's load (its floor runs on their own).
Run as root.
"""
import argparse
import ctypes
import os
import statistics
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import health_checks  # noqa: E402
from supervisor_compare import PR_SET_CHILD_SUBREAPER  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--program", required=True, help="bench/supervised_program")
    p.add_argument("--check", required=True, help="bench/noop_static")
    p.add_argument("a", help="the first build of the brood command")
    p.add_argument("b", help="the second build of the brood command")
    p.add_argument("--programs", type=int, default=500)
    p.add_argument("--interval", type=int, default=10)
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("health_checks_ab: run as root")
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    builds = {"A": os.path.realpath(args.a), "B": os.path.realpath(args.b)}
    checks = args.programs * args.seconds // args.interval
    per_check = {"A": [], "B": []}
    for round_ in range(args.rounds):
        for name in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
            trial = types.SimpleNamespace(brood=builds[name], programs=args.programs,
                                          program=os.path.realpath(args.program), check=os.path.realpath(args.check),
                                          interval=args.interval, seconds=args.seconds)
            cpu_ns, checks_ns, _, _ = health_checks.cpu_trial(trial, trial.check)
            per_check[name].append(cpu_ns / 1e3 / checks)
            print(f"{name}: brood's processes {cpu_ns / 1e3 / checks:.1f} µs a check; the checks "
                  f"{(checks_ns or 0) / 1e3 / checks:.1f}", flush=True)
    for name, values in per_check.items():
        print(f"{name} ({builds[name]}): median {statistics.median(values):.1f} µs a check, runs "
              + ", ".join(f"{v:.1f}" for v in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
