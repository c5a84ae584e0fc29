#!/usr/bin/env python3
"""Where an init's start-to-exit goes: `INIT -- /bin/true`, split into phases by the scheduler's tracepoints.

  init_phases.py [--runs N] 'INIT ARGS -- /bin/true' ['INIT ARGS -- /bin/true' ...]

Runs each command line in turn, N times each, from this process (fork, exec, waitpid), with the
kernel's sched_process_fork, sched_process_exec, sched_process_exit, sched_wakeup and sched_switch
tracepoints on (tracefs, /sys/kernel/tracing): a few events per run, so the trace costs little. For
each run it takes from the trace: this process's fork of the init, the init's exec, the init's
spawn of its program (the first task it forks), the program's exec and exit, the init's exit, and
this process's first wake-up after that exit. It prints the median of each phase in µs:

  fork→exec         this process's fork to the init's exec (not the init's: the same for all)
  exec→spawn        the init's own start: libc's, its static set-up, its options, its loop
  spawn→program     the init's spawn to its program's exec (fork or vfork-style clone, exec)
  program           the program's exec to its exit
  program→exit      the program's exit to the init's (the wake-up, the reaping, the exit)
  exit→parent       the init's exit to this process's wake-up (the kernel's teardown of the init)

and the share of runs in which the init ended on another CPU than its program. The durations
carry the tracing's own cost: compare the inits with each other, not with untraced figures.
Run as root.
"""
import argparse
import os
import re
import shlex
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from supervisor_compare import load  # noqa: E402

TRACEFS = "/sys/kernel/tracing"
EVENTS = ["sched_process_fork", "sched_process_exec", "sched_process_exit", "sched_wakeup", "sched_switch"]
LINE = re.compile(r"^\s*.+?-(\d+)\s+\[(\d+)\].*?\s([\d.]+): (\w+): (.*)$")
PHASES = ["fork→exec", "exec→spawn", "spawn→program", "program", "program→exit", "exit→parent"]


def write(name, value):
    with open(os.path.join(TRACEFS, name), "w") as f:
        f.write(value)


def set_events(on):
    for event in EVENTS:
        write(f"events/sched/{event}/enable", "1" if on else "0")


def run_traced(commands, runs):
    """Runs the commands in turn and returns the init pids in order, with the trace's text."""
    write("tracing_on", "0")
    write("trace", "")
    write("buffer_size_kb", str(max(4096, 64 * runs * len(commands))))
    write("trace_clock", "mono")
    set_events(True)
    order = []
    write("tracing_on", "1")
    try:
        for _ in range(runs):
            for index, argv in enumerate(commands):
                pid = os.fork()
                if pid == 0:
                    try:
                        os.execvp(argv[0], argv)
                    finally:
                        os._exit(127)
                os.waitpid(pid, 0)
                order.append((index, pid))
    finally:
        write("tracing_on", "0")
        set_events(False)
    with open(os.path.join(TRACEFS, "trace")) as f:
        return order, f.read()


def parse(trace):
    """Per pid: fork (time, cpu) and parent, exec, exit, wake-ups; the pid's children in fork order."""
    tasks, children = {}, {}
    for line in trace.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pid, cpu, stamp, event, rest = int(m[1]), int(m[2]), float(m[3]) * 1e6, m[4], m[5]
        if event == "sched_process_fork":
            f = re.search(r"pid=(\d+) child_comm=\S* child_pid=(\d+)", rest)
            parent, child = int(f[1]), int(f[2])
            tasks.setdefault(child, {})["fork"] = (stamp, cpu)
            children.setdefault(parent, []).append(child)
        elif event in ("sched_process_exec", "sched_process_exit"):
            tasks.setdefault(pid, {}).setdefault(event[14:], (stamp, cpu))
        elif event == "sched_wakeup":
            woken = int(re.search(r" pid=(\d+)", rest)[1])
            tasks.setdefault(woken, {}).setdefault("wakes", []).append(stamp)
    return tasks, children


def phases(order, tasks, children, count):
    rows = [[] for _ in range(count)]
    other_cpu = [0] * count
    my_wakes = tasks.get(os.getpid(), {}).get("wakes", [])
    for index, pid in order:
        init = tasks.get(pid, {})
        kids = children.get(pid, [])
        program = tasks.get(kids[0], {}) if kids else {}
        needed = ("fork", "exec", "exit")
        if not all(k in init for k in needed) or not all(k in program for k in needed):
            continue
        woke = next((t for t in my_wakes if t >= init["exit"][0]), None)
        if woke is None:
            continue
        times = [init["fork"][0], init["exec"][0], program["fork"][0], program["exec"][0], program["exit"][0],
                 init["exit"][0], woke]
        rows[index].append([b - a for a, b in zip(times, times[1:])])
        other_cpu[index] += program["exit"][1] != init["exit"][1]
    return rows, other_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("commands", nargs="+", help="an init's command line, quoted, ending in -- /bin/true")
    args = parser.parse_args()
    if os.geteuid() != 0 or not os.path.isdir(os.path.join(TRACEFS, "events/sched")):
        sys.exit(f"init_phases.py: needs root and tracefs at {TRACEFS}")
    commands = [shlex.split(c) for c in args.commands]
    order, trace = run_traced(commands, args.runs)
    tasks, children = parse(trace)
    rows, other_cpu = phases(order, tasks, children, len(commands))
    print(f"init_phases.py --runs {args.runs}; load average {load()} at the end\n")
    print("| init | " + " | ".join(PHASES) + " | total | program and init ended on different CPUs | runs traced |")
    print("|---|" + "---:|" * (len(PHASES) + 3))
    for command, phase_rows, moved in zip(args.commands, rows, other_cpu):
        if not phase_rows:
            print(f"| {command} | no complete run in the trace |")
            continue
        medians = [statistics.median(r[i] for r in phase_rows) for i in range(len(PHASES))]
        total = statistics.median(sum(r) for r in phase_rows)
        cells = " | ".join(f"{m:.0f}" for m in medians)
        print(f"| {command} | {cells} | {total:.0f} | {moved / len(phase_rows):.0%} | {len(phase_rows)} |")


if __name__ == "__main__":
    main()
