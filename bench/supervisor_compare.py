#!/usr/bin/env python3
"""brood up side by side with supervisord, s6 (s6-svscan) and runit (runsvdir), in one run.

  supervisor_compare.py --program PATH [--brood PATH] [--brood-before PATH] [--brood-line LINE]...
                        [--counts 10,500] [--restarts 200]
                        [--idle-seconds 60] [--start-trials 5] [--only NAME,...]

A fifth row, the floor (bench/restart_floor.c: waitpid + posix_spawn, nothing else), shows what the
machine charges any supervisor. Every supervisor runs N copies of bench/supervised_program.c (PATH), each its own program (service),
configured the way its documentation shows, with what is needed for a fair race: output to nothing
(no log files), a restart whenever the program fails. For each N, the supervisors take turns:

  start     from launching the supervisor until the first of the N programs has noted its start,
            and until the last has; --start-trials launches for each supervisor and N, the
            supervisors taking turns (one launch is the full trial's, the others end at the
            start); medians, and the range of the first start
  memory    after 2 s of calm: total PSS (/proc/PID/smaps_rollup) and count of the supervisor's own
            processes, i.e. every process under it that is not one of the programs
  restart   (smallest N only) a program that has run for over 1.5 s, past every supervisor's start
            period, is told to exit (SIGUSR1; it exits 1): the time from its exit note to its
            replacement's start note, both taken inside the programs (CLOCK_MONOTONIC).
            --restarts tries, the programs in turn; median, p99 and max
  idle      (smallest N only) CPU time (/proc/PID/schedstat) and context switches (wake-ups) of the
            supervisor's own processes over --idle-seconds in which nothing happens

Run as root (the driver becomes a subreaper, so that whatever a supervisor leaves behind is ended and
reaped here). Prints Markdown tables and the machine's load.
"""
import argparse
import ctypes
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36


def die(message):
    sys.exit(f"supervisor_compare: {message}")


# --- the four supervisors: each writes its configuration for n programs and returns its argv ---

def setup_supervisord(root, n, program):
    conf = os.path.join(root, "supervisord.conf")
    with open(conf, "w") as f:
        f.write(f"[supervisord]\nnodaemon=true\nlogfile={root}/supervisord.log\npidfile={root}/supervisord.pid\n"
                f"childlogdir={root}\nloglevel=warn\nminfds=8192\n\n")
        for i in range(n):
            f.write(f"[program:p{i}]\ncommand={program}\nautorestart=true\nstartsecs=1\n"
                    "stdout_logfile=NONE\nstderr_logfile=NONE\n\n")
    return [shutil.which("supervisord") or "supervisord", "-c", conf]


def service_dirs(scandir, n, program):
    os.mkdir(scandir)
    for i in range(n):
        os.mkdir(os.path.join(scandir, f"p{i}"))
        os.symlink(program, os.path.join(scandir, f"p{i}", "run"))


def setup_s6(root, n, program):
    scandir = os.path.join(root, "s6")
    service_dirs(scandir, n, program)
    return [shutil.which("s6-svscan") or "s6-svscan", scandir]


def setup_runit(root, n, program):
    scandir = os.path.join(root, "runit")
    service_dirs(scandir, n, program)
    return [shutil.which("runsvdir") or "runsvdir", scandir]


def floor_setup(floor):
    def setup_floor(root, n, program):
        return [floor, str(n), program]
    return setup_floor


def brood_setup(brood, extra_lines=""):
    def setup_brood(root, n, program):
        conf = os.path.join(root, "brood.toml")
        with open(conf, "w") as f:
            # s6 and runit have no start limit and supervisord's (startretries) counts only failed
            # starts; brood's counts every start (5 within 10 s of running time by default), which
            # the restart trial (each program restarted every 1.5 s) would reach. Lift it here.
            for i in range(n):
                f.write(f'[programs.p{i}]\ncommand = ["{program}"]\nstart_limit = {{ burst = 1000 }}\n{extra_lines}\n')
        return [brood, "up", "-c", conf]
    return setup_brood


# --- processes ---

def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def descendants(pid):
    kids = children_map()
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(kids.get(p, []))
    return found


def executable(pid):
    """The file a process runs (symbolic links resolved: s6 and runit run ./run, a link)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def supervisor_processes(root_pid, program):
    return [p for p in descendants(root_pid) if executable(p) not in (program, None)]


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_and_switches(pids):
    """Total CPU ns (schedstat) and context switches of pids; gone processes count 0."""
    cpu = switches = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                cpu += int(f.read().split()[0])
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
        except OSError:
            pass
    return cpu, switches


def end_everything():
    """SIGKILL and reap every descendant of this driver (a subreaper: orphans come here)."""
    for _ in range(50):
        others = [p for p in descendants(os.getpid()) if p != os.getpid()]
        for p in others:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not others:
            return
        time.sleep(0.05)
    die("processes left behind after 50 attempts: " + " ".join(map(str, others)))


def stop_and_clean(sup, root):
    """SIGTERM to the supervisor, then whatever is left is ended here; its directory goes."""
    sup.terminate()
    try:
        sup.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    end_everything()
    shutil.rmtree(root, ignore_errors=True)


# --- the programs' notes ---

class notes:
    """Reads the appended 'start|exit PID NS' lines as they come."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = ""
        self.starts = {}  # pid -> ns, programs started and not seen exiting
        self.exits = {}   # pid -> ns
        self.all_starts = []

    def poll(self):
        with open(self.path) as f:
            f.seek(self.offset)
            data = f.read()
            self.offset = f.tell()
        data = self.partial + data
        lines = data.split("\n")
        self.partial = lines.pop()
        new_starts = []
        for line in lines:
            what, pid, ns = line.split()
            if what == "start":
                self.starts[int(pid)] = int(ns)
                self.all_starts.append(int(ns))
                new_starts.append(int(ns))
            else:
                self.starts.pop(int(pid), None)
                self.exits[int(pid)] = int(ns)
        return new_starts


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.001)


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def quantile(values, q):
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


# --- one supervisor, one size ---

def trial(name, setup, n, program, args, measure_restarts, start_only=False):
    root = tempfile.mkdtemp(prefix=f"brood-supcmp-{name.split()[0]}-")
    log = os.path.join(root, "starts.log")
    open(log, "w").close()
    # Programs may run as another user (--brood-line 'user = "nobody"'): they append to the log.
    os.chmod(root, 0o755)
    os.chmod(log, 0o666)
    argv = setup(root, n, program)
    env = dict(os.environ, BENCH_START_LOG=log)
    result = {"name": name, "n": n}
    t0 = time.monotonic_ns()
    sup = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(root, "stderr.txt"), "w"), cwd=root)
    try:
        seen = notes(log)
        wait_for(lambda: (seen.poll(), len(seen.starts) >= n)[1], 300, f"{name}: {n} programs started")
        if sup.poll() is not None:
            raise RuntimeError(f"{name} exited with {sup.returncode}")
        result["first_start_ms"] = (min(seen.all_starts) - t0) / 1e6
        result["start_ms"] = (max(seen.all_starts) - t0) / 1e6
        if start_only:
            return result
        time.sleep(2)
        procs = supervisor_processes(sup.pid, program)
        result["processes"] = len(procs)
        result["pss_kib"] = sum(pss_kib(p) for p in procs)
        if measure_restarts:
            latencies = []
            for _ in range(args.restarts):
                seen.poll()
                now = time.monotonic_ns()
                ripe = [p for p, ns in seen.starts.items() if now - ns > 1.5e9]
                if not ripe:
                    wait_for(lambda: (seen.poll(), any(time.monotonic_ns() - ns > 1.5e9
                                                       for ns in seen.starts.values()))[1], 30,
                             f"{name}: a program running for 1.5 s")
                    now = time.monotonic_ns()
                    ripe = [p for p, ns in seen.starts.items() if now - ns > 1.5e9]
                victim = min(ripe, key=lambda p: seen.starts[p])
                before = len(seen.all_starts)
                os.kill(victim, signal.SIGUSR1)
                wait_for(lambda: (seen.poll(), len(seen.all_starts) > before and victim in seen.exits)[1], 30,
                         f"{name}: restart of {victim}")
                latencies.append((seen.all_starts[before] - seen.exits[victim]) / 1e3)
            result["restart_us"] = latencies
            time.sleep(2)
            procs = supervisor_processes(sup.pid, program)
            cpu0, sw0 = cpu_and_switches(procs)
            time.sleep(args.idle_seconds)
            cpu1, sw1 = cpu_and_switches(procs)
            result["idle_cpu_ms"] = (cpu1 - cpu0) / 1e6
            result["idle_switches"] = sw1 - sw0
    except (TimeoutError, RuntimeError) as e:
        result["error"] = str(e)
        with open(os.path.join(root, "stderr.txt")) as f:
            tail = f.read()[-500:]
        print(f"supervisor_compare: {e}; its stderr ends: {tail!r}", file=sys.stderr)
    finally:
        stop_and_clean(sup, root)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--program", required=True, help="bench/supervised_program, built")
    p.add_argument("--brood", help="the brood command (brood up); left out if not given")
    p.add_argument("--brood-before", help="an earlier build of the brood command, an extra row "
                                          "'brood up, before': before and after a change, in one run")
    p.add_argument("--counts", default="10,500")
    p.add_argument("--restarts", type=int, default=200)
    p.add_argument("--idle-seconds", type=float, default=60)
    p.add_argument("--start-trials", type=int, default=5)
    p.add_argument("--brood-line", action="append", default=[],
                   help="a line added to each program of brood.toml, such as 'user = \"nobody\"' (repeatable)")
    p.add_argument("--only", help="comma-separated subset of: brood,supervisord,s6,runit,floor")
    args = p.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if not counts or min(counts) < 1 or max(counts) > 2000 or not 1 <= args.restarts <= 10000 \
            or not 1 <= args.start_trials <= 100:
        p.error("--counts 1..2000 each, --restarts 1..10000, --start-trials 1..100")
    program = os.path.realpath(args.program)
    if not os.access(program, os.X_OK):
        p.error(f"{program} is not an executable program")
    if os.geteuid() != 0:
        die("run as root")
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    brood = os.path.abspath(args.brood) if args.brood else None  # the supervisors run in their own directory
    floor = os.path.join(os.path.dirname(program), "restart_floor")  # built next to the program
    before = os.path.abspath(args.brood_before) if args.brood_before else None
    extra = "".join(line + "\n" for line in args.brood_line)
    candidates = [("brood up", "brood", brood, brood_setup(brood, extra) if brood else None),
                  ("brood up, before", "brood", before, brood_setup(before, extra) if before else None),
                  ("supervisord", "supervisord", shutil.which("supervisord"), setup_supervisord),
                  ("s6-svscan", "s6", shutil.which("s6-svscan"), setup_s6),
                  ("runsvdir", "runit", shutil.which("runsvdir"), setup_runit),
                  ("floor: waitpid + posix_spawn", "floor", floor, floor_setup(floor))]
    only = set(args.only.split(",")) if args.only else None
    sups = []
    for name, key, path, setup in candidates:
        if only and key not in only or (name == "brood up, before" and not before):
            continue
        if not path or not os.access(path, os.X_OK):
            how = {"brood": "give --brood PATH", "floor": "build bench/restart_floor.c"}.get(key, "scripts/install-deps --bench")
            print(f"supervisor_compare: {name} not found, left out ({how})", file=sys.stderr)
            continue
        sups.append((name, setup))

    versions = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}, ", "supervisor", "s6", "runit"],
                              capture_output=True, text=True).stdout.rstrip(", ")
    u = os.uname()
    print(f"Machine: Linux {u.release}, {os.cpu_count()} CPUs, load average {load()} "
          f"at the start; peers: {versions}")
    print(f"Settings: --counts {args.counts} --restarts {args.restarts} --idle-seconds {args.idle_seconds:g} "
          f"--start-trials {args.start_trials}" + "".join(f" --brood-line '{line}'" for line in args.brood_line) + "\n")

    results = []
    for k, n in enumerate(counts):
        turn = sups[k % len(sups):] + sups[:k % len(sups)]  # a different one goes first each size
        full = {}
        for name, setup in turn:
            full[name] = trial(name, setup, n, program, args, n == min(counts))
            full[name]["starts"] = [full[name]] if "start_ms" in full[name] else []
            results.append(full[name])
            print(f"  done: {name}, {n} programs (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
        for t in range(1, args.start_trials):
            for name, setup in turn[t % len(turn):] + turn[:t % len(turn)]:
                launch = trial(name, setup, n, program, args, False, start_only=True)
                if "start_ms" in launch:
                    full[name]["starts"].append(launch)
            print(f"  done: start trial {t + 1} of {args.start_trials}, {n} programs "
                  f"(load {os.getloadavg()[0]:.2f})", file=sys.stderr)

    print("### Memory and start-up\n")
    print("| supervisor | programs | own processes | total PSS KiB | PSS KiB per program | first running after ms "
          "(range) | all running after ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if "pss_kib" in r:
            first = [s["first_start_ms"] for s in r["starts"]]
            print(f"| {r['name']} | {r['n']} | {r['processes']} | {r['pss_kib']} | {r['pss_kib'] / r['n']:.0f} | "
                  f"{statistics.median(first):.1f} ({min(first):.1f}–{max(first):.1f}) | "
                  f"{statistics.median(s['start_ms'] for s in r['starts']):.0f} |")
        else:
            print(f"| {r['name']} | {r['n']} | failed: {r.get('error', '?')} | | | | |")

    print(f"\n### Restart latency ({args.restarts} tries) and idle cost ({args.idle_seconds:g} s), "
          f"{min(counts)} programs\n")
    print("| supervisor | restart median µs | p99 µs | max µs | idle CPU ms | idle wake-ups (context switches) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        if "restart_us" in r:
            v = r["restart_us"]
            print(f"| {r['name']} | {statistics.median(v):.0f} | {quantile(v, 0.99):.0f} | {max(v):.0f} | "
                  f"{r['idle_cpu_ms']:.2f} | {r['idle_switches']} |")
    print(f"\nLoad average at the end: {load()}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
