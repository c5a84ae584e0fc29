#!/usr/bin/env python3
"""What exec health checks cost brood up, against the least any supervisor pays for them, in one run.

  health_checks.py --program PATH --check PATH --floor PATH --brood PATH
                   [--programs 500] [--interval 10] [--seconds 60] [--pss-programs 10] [--pss-rounds 2]
                   [--floor-runs 3]

  cpu     brood up runs --programs copies of bench/supervised_program (PATH), each with
          health = { exec = [CHECK], interval = "--interval s" }, CHECK being bench/noop_static (exits 0
          at once). Once every program has started and the first round of checks is done, the CPU
          time of brood's own processes (/proc/PID/schedstat of brood up, its guard and the helper
          that starts the checks; not the programs, not the checks) is read over --seconds, and
          that of the instances' cgroups (cpu.stat of brood's cgroup: the programs, which sleep,
          and the checks, each from its clone to its exit). The same brood up without health
          checks is measured the same way. The floors are bench/exec_check_floor.c running CHECK
          as many times as brood ran checks (programs × seconds / interval), with posix_spawn +
          waitpid and nothing else, and with a vfork-style clone3 into a cgroup (as brood starts a
          check in its instance's cgroup) + waitpid, into one cgroup and into one per program in
          turn (nested as brood's): their own CPU time (RUSAGE_SELF) is what the
          checks' fork+exec+wait costs a parent at the least, their children's (RUSAGE_CHILDREN)
          what the checks cost themselves when their parent holds 3 fds. The last floor, the one
          the ratios are taken to, runs --floor-runs times; the run with the median total counts.
  wakeups brood's context switches, sampled every 100 ms over the same --seconds: the samples with
          any are grouped into bursts (samples less than 1 s apart), which should be one per round
          of checks, with nothing in the quiet stretches between them.
  pss     brood up with --pss-programs programs, with a check each (every --interval s) and without,
          in turn, --pss-rounds times: the total PSS of brood's own processes (every process under it
          that is neither a program nor a check), 20 samples spread over one interval once the first
          round of checks is done; their median, and the largest (taken just after a round).

Run as root (the driver is a subreaper, as bench/supervisor_compare.py's). Prints Markdown tables
and the machine's load.
"""
import argparse
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from supervisor_compare import (PR_SET_CHILD_SUBREAPER, cpu_and_switches, descendants, end_everything,  # noqa: E402
                                executable, load, notes, pss_kib, wait_for)

SAMPLE_S = 0.1
PSS_SAMPLES = 20


def die(message):
    sys.exit(f"health_checks: {message}")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def write_config(root, n, program, check, interval_s):
    conf = os.path.join(root, "brood.toml")
    with open(conf, "w") as f:
        for i in range(n):
            f.write(f'[programs.p{i}]\ncommand = ["{program}"]\n')
            if check:
                f.write(f'health = {{ exec = ["{check}"], interval = "{interval_s}s" }}\n')
            f.write("\n")
    return conf


class running_brood:
    """brood up on n programs in a directory of its own, until every program has started."""

    def __init__(self, brood, n, program, check, interval_s):
        self.root = tempfile.mkdtemp(prefix="brood-health-")
        log = os.path.join(self.root, "starts.log")
        open(log, "w").close()
        conf = write_config(self.root, n, program, check, interval_s)
        env = dict(os.environ, BENCH_START_LOG=log)
        self.process = subprocess.Popen([brood, "up", "-c", conf], env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.root, "stderr.txt"), "w"), cwd=self.root)
        seen = notes(log)
        wait_for(lambda: (seen.poll(), len(seen.starts) >= n)[1], 300, f"{n} programs started")
        if self.process.poll() is not None:
            die(f"brood up exited with {self.process.returncode}")

    def own_processes(self, program, check):
        return [p for p in descendants(self.process.pid) if executable(p) not in (program, check, None)]

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        end_everything()
        shutil.rmtree(self.root, ignore_errors=True)


def cpu_trial(args, check):
    """CPU ns and switch samples of brood's own processes over args.seconds, after the first round
    of checks; and their names."""
    brood = running_brood(args.brood, args.programs, args.program, check, args.interval)
    try:
        time.sleep(args.interval + 2)  # the first round of checks is done
        own = brood.own_processes(args.program, args.check)
        samples = []
        start = time.monotonic()
        group = instances_cpu_stat(brood.process.pid)
        cpu0, _ = cpu_and_switches(own)
        instances0 = usage_ns(group)
        while time.monotonic() - start < args.seconds:
            samples.append((time.monotonic() - start, cpu_and_switches(own)[1]))
            time.sleep(SAMPLE_S)
        cpu1, _ = cpu_and_switches(own)
        instances = usage_ns(group) - instances0 if group else None
        return cpu1 - cpu0, instances, samples, sorted(comm(p) for p in own)
    finally:
        brood.close()


def bursts(samples):
    """(start s, end s, switches) of the stretches with switches, samples under 1 s apart merged."""
    found = []
    for (t0, s0), (t1, s1) in zip(samples, samples[1:]):
        if s1 == s0:
            continue
        if found and t0 - found[-1][1] < 1.0:
            found[-1] = (found[-1][0], t1, found[-1][2] + s1 - s0)
        else:
            found.append((t0, t1, s1 - s0))
    return found


def own_cgroup2():
    """The directory of this process's cgroup in the cgroup2 hierarchy, or None."""
    mount = None
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                mount = fields[1]
    if mount is None:
        return None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return os.path.join(mount, line[3:].strip().lstrip("/"))
    return None


def instances_cpu_stat(brood_pid):
    """The cpu.stat of the cgroup brood up made for its instances, or None (no cgroup isolation)."""
    base = own_cgroup2()
    path = os.path.join(base, f"brood-up.{brood_pid}", "cpu.stat") if base else None
    return path if path and os.path.exists(path) else None


def usage_ns(cpu_stat):
    if cpu_stat is None:
        return 0
    with open(cpu_stat) as f:
        for line in f:
            if line.startswith("usage_usec "):
                return int(line.split()[1]) * 1000
    return 0


def floor_cpu(args, checks, cgroups):
    """exec_check_floor's own and its children's CPU ns for checks spawns: plainly (cgroups 0), or
    into cgroups made for it, in turn. With one, into one cgroup; with several, into one per program,
    each nested as brood nests a check's (<floor's>/<program>/health)."""
    argv = [args.floor, str(checks), args.check]
    made = []
    if cgroups:
        base = own_cgroup2()
        if base is None:
            return None
        top = os.path.join(base, f"exec-check-floor-{os.getpid()}")
        os.mkdir(top)
        made.append(top)
        if cgroups == 1:
            argv.append(top)
        for k in range(cgroups if cgroups > 1 else 0):
            program = os.path.join(top, f"p{k}")
            os.mkdir(program)
            os.mkdir(os.path.join(program, "health"))
            made += [program, os.path.join(program, "health")]
            argv.append(os.path.join(program, "health"))
    try:
        own, children = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
        return int(own), int(children)
    finally:
        for group in reversed(made):
            os.rmdir(group)


def pss_trial(args, check):
    """(median, max) of the PSS samples over a whole interval, once the first round of checks is done."""
    brood = running_brood(args.brood, args.pss_programs, args.program, check, args.interval)
    try:
        time.sleep(args.interval + 2)
        totals = []
        for _ in range(PSS_SAMPLES):
            totals.append(sum(pss_kib(p) for p in brood.own_processes(args.program, args.check)))
            time.sleep(args.interval / PSS_SAMPLES)
        return statistics.median(totals), max(totals)
    finally:
        brood.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--program", required=True, help="bench/supervised_program, built")
    p.add_argument("--check", required=True, help="bench/noop_static, built: the check")
    p.add_argument("--floor", required=True, help="bench/exec_check_floor, built")
    p.add_argument("--brood", required=True, help="the brood command")
    p.add_argument("--programs", type=int, default=500)
    p.add_argument("--interval", type=int, default=10, help="seconds between checks")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--pss-programs", type=int, default=10)
    p.add_argument("--pss-rounds", type=int, default=2)
    p.add_argument("--floor-runs", type=int, default=3,
                   help="runs of the floor the ratios are taken to; the one with the median total counts")
    args = p.parse_args()
    for name in ("program", "check", "floor", "brood"):
        setattr(args, name, os.path.realpath(getattr(args, name)))
        if not os.access(getattr(args, name), os.X_OK):
            p.error(f"--{name}: {getattr(args, name)} is not an executable program")
    if os.geteuid() != 0:
        die("run as root")
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    print(f"load at start: {load()}")
    checks = args.programs * args.seconds // args.interval
    with_cpu, with_instances, samples, with_processes = cpu_trial(args, args.check)
    without_cpu, without_instances, quiet_samples, without_processes = cpu_trial(args, None)
    floor_plain = floor_cpu(args, checks, 0)
    floor_cgroup = floor_cpu(args, checks, 1)
    # A floor run takes about a second, brood's a minute: the median of a few evens out the
    # machine's moments, which move a single floor run by a fifth.
    floor_runs = [run for run in (floor_cpu(args, checks, args.programs) for _ in range(max(1, args.floor_runs))) if run]
    floor_cgroups = sorted(floor_runs, key=sum)[len(floor_runs) // 2] if floor_runs else None

    print(f"\n### {args.programs} programs, an exec check each every {args.interval} s: "
          f"CPU over {args.seconds} s (~{checks} checks)\n")
    print(f"brood's processes counted: with checks {', '.join(with_processes)}; "
          f"without {', '.join(without_processes)}\n")
    # The floor the ratios are taken to: a vfork-style clone3 into a cgroup per program, as brood
    # starts a check in its instance's (plain posix_spawn where there is no cgroup v2 here). A check
    # cloned into an empty cgroup costs more than one cloned into a cgroup that holds a process: the
    # kernel makes the set of cgroups it belongs to anew, and drops it at its exit.
    floor_own, floor_children = floor_cgroups or floor_cgroup or floor_plain
    print("| | CPU ms | µs per check | against the floor's parent | against the floor's parent + checks |")
    print("|---|---:|---:|---:|---:|")

    def row(name, ns, against):
        """against: "parent" or "both", the floor its ratio is to; "" for none."""
        if ns is None:
            print(f"| {name} | n/a | | | |")
            return
        parent = f"{ns / floor_own:.2f}" if against == "parent" else ""
        both = f"{ns / (floor_own + floor_children):.2f}" if against == "both" else ""
        print(f"| {name} | {ns / 1e6:.1f} | {ns / 1e3 / checks:.1f} | {parent} | {both} |")

    row("brood up's processes, with the checks", with_cpu, "parent")
    print(f"| brood up's processes, without checks | {without_cpu / 1e6:.1f} | | | |")
    share = with_cpu - without_cpu
    row("brood up's processes: the checks' share (with − without)", share, "parent")
    checks_own = with_instances - without_instances if with_instances is not None else None
    row("the checks themselves (brood's cgroup, with − without)", checks_own, "")
    row("brood up's share and the checks together", share + checks_own if checks_own is not None else None, "both")
    cgroup_floors = [("vfork-style clone3 into a cgroup + waitpid", floor_cgroup),
                     (f"vfork-style clone3 into {args.programs} cgroups in turn + waitpid", floor_cgroups)]
    for name, cost in [("posix_spawn + waitpid", floor_plain)] + \
                      [(name, cost) for name, cost in cgroup_floors if cost]:
        row(f"floor, {name}: the parent", cost[0], "parent")
        row(f"floor, {name}: the checks", cost[1], "")
        row(f"floor, {name}: both", cost[0] + cost[1], "both")
    if len(floor_runs) > 1:
        print(f"\nThe floor into {args.programs} cgroups, each of its {len(floor_runs)} runs (the parent / both, "
              "µs per check), the median's counted: " +
              ", ".join(f"{own / 1e3 / checks:.1f} / {(own + kids) / 1e3 / checks:.1f}" for own, kids in floor_runs))

    found = bursts(samples)
    gaps = [b[0] - a[1] for a, b in zip(found, found[1:])]
    print(f"\n### brood's wake-ups over the {args.seconds} s, sampled every {SAMPLE_S * 1000:.0f} ms\n")
    print("| | switches | bursts | longest burst s | shortest quiet stretch between bursts s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| with the checks | {samples[-1][1] - samples[0][1]} | {len(found)} | "
          f"{max((b[1] - b[0] for b in found), default=0):.1f} | {min(gaps, default=0):.1f} |")
    quiet = bursts(quiet_samples)
    print(f"| without checks | {quiet_samples[-1][1] - quiet_samples[0][1]} | {len(quiet)} | "
          f"{max((b[1] - b[0] for b in quiet), default=0):.1f} | {min((b[0] - a[1] for a, b in zip(quiet, quiet[1:])), default=0):.1f} |")
    print("\nbursts (start s, end s, switches): " + ", ".join(f"({a:.1f}, {b:.1f}, {s})" for a, b, s in found))

    with_pss, without_pss = [], []
    for _ in range(args.pss_rounds):
        with_pss.append(pss_trial(args, args.check))
        without_pss.append(pss_trial(args, None))
    median_with = statistics.median(m for m, _ in with_pss)
    median_without = statistics.median(m for m, _ in without_pss)
    print(f"\n### PSS of brood's own processes, {args.pss_programs} programs, {PSS_SAMPLES} samples over "
          f"{args.interval} s in each of {args.pss_rounds} rounds\n")
    print("| | median PSS KiB | against without | each round: median (max) KiB |")
    print("|---|---:|---:|---|")
    print(f"| with an exec check each (every {args.interval} s) | {median_with:.0f} | {median_with / median_without:.3f} | "
          f"{', '.join(f'{m:.0f} ({x})' for m, x in with_pss)} |")
    print(f"| without | {median_without:.0f} | 1.000 | {', '.join(f'{m:.0f} ({x})' for m, x in without_pss)} |")
    print(f"\nload at end: {load()}")


if __name__ == "__main__":
    main()
