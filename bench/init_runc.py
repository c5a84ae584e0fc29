#!/usr/bin/env python3
"""brood run, tini, tini-static, dumb-init and catatonit as PID 1 of the same OCI bundle under runc.

  init_runc.py [--brood PATH] [--runs N] [--idle-containers N] [--storm N] [--storm-trials N]
               [--shutdown-cap SECONDS] [--sections startup,idle,storm,shutdown] [--inits brood,tini,...]

One root filesystem (busybox-static, the inits, and the shared libraries ldd names for the dynamic
ones, tini and dumb-init) serves a bundle per init (runc spec's config.json, the args changed);
every container runs with a private `runc --root` state directory and is removed with
`runc delete --force` whatever happens. Every part interleaves the inits in rounds, the order
rotating, so that load drifts hit all alike:

  startup   wall time of `runc run` of `INIT -- /bin/true` (busybox's true, static), from the spawn
            of runc to its exit, and of `/bin/true` alone as PID 1 (the floor): median and
            interquartile range; each init's overhead over the floor with its 95 % interval
            (bootstrap over the rounds), and that overhead's ratio to tini-static's
  idle      `INIT -- sleep 1000`: Rss and Pss of the init (from the host: `runc state` gives its
            pid; /proc/PID/smaps_rollup) 1 s and 3 s after its program started; min and max over
            --idle-containers containers
  storm     `INIT -- cli_zombie_storm N` (tests/helpers/cli_zombie_storm.c built with gcc -static):
            N orphaned zombies at once; the helper times until the init has reaped them all and
            counts those left; then the time until the container has exited (runc run returned)
  shutdown  `runc kill ID TERM` to a container whose program catches SIGTERM, says so, and carries
            on: was it forwarded, and when and how did the container end (--shutdown-cap seconds
            at most, then `runc kill ID KILL`, as a runtime does at the end of its wait)

Run as root. Prints Markdown tables with the command, date, commit and load average.
"""
import argparse
import contextlib
import json
import os
import random
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name, executable on the host, argv prefix inside the container (the program follows).
INITS = [
    ("brood run", None, ["/init/brood", "run", "--"]),
    ("tini", "tini", ["/init/tini", "--"]),
    ("tini-static", "tini-static", ["/init/tini-static", "--"]),
    ("dumb-init", "dumb-init", ["/init/dumb-init"]),
    ("catatonit", "catatonit", ["/init/catatonit", "--"]),
]
FLOOR = "/bin/true alone"


def die(message):
    sys.exit(f"init_runc: {message}")


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def shared_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return [w for line in out.splitlines() for w in line.split()[:3] if w.startswith("/")][:16]


def overhead_interval(runs, floor, rounds=2000):
    """95 % bootstrap interval of median(runs) - median(floor), resampling the rounds (a run and
    the floor's run of the same round stay together, as load drifts hit both)."""
    rng = random.Random(1)
    n = len(runs)
    diffs = []
    for _ in range(rounds):
        pick = [rng.randrange(n) for _ in range(n)]
        diffs.append(statistics.median(runs[i] for i in pick) - statistics.median(floor[i] for i in pick))
    diffs.sort()
    return diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds) - 1]


def quartiles(values):
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], statistics.median(values), q[2]


class Runc:
    """A private runc state directory and the bundles of one root filesystem."""

    def __init__(self, top, rootfs):
        self.top = top
        self.rootfs = rootfs
        self.state = os.path.join(top, "state")
        self.serial = 0
        subprocess.run(["runc", "spec", "--bundle", top], check=True)
        with open(os.path.join(top, "config.json")) as f:
            self.spec = json.load(f)
        os.remove(os.path.join(top, "config.json"))
        process = self.spec["process"]
        process["terminal"] = False
        process["env"] = ["PATH=/bin", "TERM=dumb"]
        # The storm's helper holds a pidfd per zombie: 10,000 of them do not fit under runc spec's 1024.
        process["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 16384, "soft": 16384}]
        self.spec["root"] = {"path": rootfs, "readonly": True}

    def bundle(self, args):
        """A bundle directory whose config.json runs args."""
        self.serial += 1
        path = os.path.join(self.top, f"bundle{self.serial}")
        os.mkdir(path)
        self.spec["process"]["args"] = args
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(self.spec, f)
        return path

    def cmd(self, *args):
        return ["runc", "--root", self.state, *args]

    def new_id(self):
        self.serial += 1
        return f"brood-bench-{os.getpid()}-{self.serial}"

    def run(self, bundle, cid, **popen):
        return subprocess.Popen(self.cmd("run", "--bundle", bundle, cid), stdin=subprocess.DEVNULL, **popen)

    def delete(self, cid):
        subprocess.run(self.cmd("delete", "--force", cid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self, cid, signal):
        subprocess.run(self.cmd("kill", cid, signal), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init_pid(self, cid):
        r = subprocess.run(self.cmd("state", cid), capture_output=True, text=True)
        if r.returncode != 0:
            return 0
        state = json.loads(r.stdout)
        return state["pid"] if state.get("status") == "running" else 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def smaps_rollup(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            words = line.split()
            if len(words) == 3 and words[2] == "kB":
                fields[words[0].rstrip(":")] = int(words[1])
    return fields


def wait_for(condition, timeout, what):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    die(f"timed out waiting for {what}")


def rotated(items, round_number):
    k = round_number % len(items)
    return items[k:] + items[:k]


# --- the parts ----------------------------------------------------------------------------------

@contextlib.contextmanager
def container(runc, bundle, **popen):
    """A container run in the background, as (id, runc run's process); killed if still running, and
    deleted, whatever happens."""
    cid = runc.new_id()
    p = runc.run(bundle, cid, **popen)
    try:
        yield cid, p
    finally:
        if p.poll() is None:
            runc.kill(cid, "KILL")
            p.wait()
        runc.delete(cid)


def startup(runc, methods, runs):
    """methods: [(name, bundle)]; wall ms of each runc run, runs per method, interleaved."""
    samples = {name: [] for name, _ in methods}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    for r in range(runs):
        for name, bundle in rotated(methods, r):
            start = time.monotonic()
            with container(runc, bundle, **quiet) as (_, p):
                code = p.wait()
                samples[name].append((time.monotonic() - start) * 1e3)
            if code != 0:
                die(f"{name}: runc run of /bin/true exited {code}")
    return samples


def idle_once(runc, bundle):
    with container(runc, bundle, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as (cid, _):
        pid = wait_for(lambda: runc.init_pid(cid), 10, "the container to run")
        wait_for(lambda: any(comm(k) == "sleep" for k in children(pid)), 10, "sleep to start under the init")
        started = time.monotonic()
        figures = []
        for at in (1.0, 3.0):
            time.sleep(max(0.0, started + at - time.monotonic()))
            figures.append(smaps_rollup(pid))
        return figures


def storm_once(runc, bundle, name):
    with container(runc, bundle, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as (_, p):
        line = p.stdout.readline()
        reported = time.monotonic()
        code = p.wait(timeout=60)
        exit_ms = (time.monotonic() - reported) * 1e3
        fields = dict(w.split("=") for w in line.split())
        if "reap_ms" not in fields:
            die(f"storm under {name}: exit {code}, printed {line!r} {p.stderr.read()!r}")
        return float(fields["reap_ms"]), int(fields["left"]), exit_ms, float(fields["spawn_ms"]), code


def shutdown_once(runc, bundle, cap):
    """SIGTERM to a container whose program catches it and goes on: what happened, within cap seconds."""
    with container(runc, bundle, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as (cid, p):
        if p.stdout.readline().strip() != "ready":
            die("the shutdown program did not start")
        start = time.monotonic()
        runc.kill(cid, "TERM")
        forwarded = False
        fd = p.stdout.fileno()
        # Reads until the container ends (EOF) or the cap.
        while time.monotonic() - start < cap:
            ready, _, _ = select.select([fd], [], [], max(0.0, cap - (time.monotonic() - start)))
            if not ready:
                break
            line = p.stdout.readline()
            if line == "":
                break
            forwarded = forwarded or line.strip() == "got TERM"
        try:
            code = p.wait(timeout=max(0.01, cap - (time.monotonic() - start)))
            return forwarded, time.monotonic() - start, code, False
        except subprocess.TimeoutExpired:
            runc.kill(cid, "KILL")  # as the runtime does at the end of its wait
            code = p.wait()
            return forwarded, time.monotonic() - start, code, True


# --- the run ------------------------------------------------------------------------------------

def build_rootfs(rootfs, inits, brood, storm_source, work):
    for d in ("bin", "init", "proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin/busybox"))
    for tool in ("sh", "sleep", "true", "echo"):
        os.symlink("busybox", os.path.join(rootfs, "bin", tool))
    for name, host, prefix in inits:
        source = brood if host is None else shutil.which(host)
        shutil.copy(source, os.path.join(rootfs, prefix[0].lstrip("/")))
        for lib in shared_libraries(source):
            target = os.path.join(rootfs, lib.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(lib, target)
    storm = os.path.join(rootfs, "bin/cli_zombie_storm")
    subprocess.run(["gcc", "-O2", "-static", "-o", storm, storm_source], check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--brood", default=os.path.join(REPO, "build-bench/tools/brood/brood"),
                   help="a static brood (a Release build)")
    p.add_argument("--runs", type=int, default=100, help="start-up: runs per init")
    p.add_argument("--idle-containers", type=int, default=4)
    p.add_argument("--storm", type=int, default=10000)
    p.add_argument("--storm-trials", type=int, default=3)
    p.add_argument("--shutdown-cap", type=float, default=10)
    p.add_argument("--sections", default="startup,idle,storm,shutdown")
    p.add_argument("--inits", help="comma-separated subset of: brood,tini,tini-static,dumb-init,catatonit")
    a = p.parse_args()
    if os.geteuid() != 0:
        die("runc needs root")
    for tool in ("runc", "gcc", "ldd"):
        if shutil.which(tool) is None:
            die(f"{tool} not found")
    if not os.path.exists("/bin/busybox"):
        die("no /bin/busybox (Debian's busybox-static)")
    if not os.access(a.brood, os.X_OK):
        die(f"{a.brood}: not built (see docs/benchmarks.md)")
    sections = a.sections.split(",")
    wanted = a.inits.split(",") if a.inits else None
    inits = []
    for init in INITS:
        if wanted and not any(init[0] == w or init[0].startswith(w + " ") for w in wanted):
            continue
        if init[1] is not None and shutil.which(init[1]) is None:
            print(f"init_runc: {init[1]} not found, left out", file=sys.stderr)
            continue
        inits.append(init)

    commit = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()[:72]
    print(f"$ {' '.join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])}")
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {commit}; "
          f"load average {load()} at the start.")
    print(f"Linux {os.uname().release}, {os.cpu_count()} CPUs; "
          f"{subprocess.run(['runc', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}; "
          f"brood: {a.brood}\n")

    top = tempfile.mkdtemp(prefix="init_runc.")
    try:
        rootfs = os.path.join(top, "rootfs")
        build_rootfs(rootfs, inits, a.brood, os.path.join(REPO, "tests/helpers/cli_zombie_storm.c"), top)
        runc = Runc(top, rootfs)

        if "startup" in sections:
            methods = [(FLOOR, runc.bundle(["/bin/true"]))]
            methods += [(name, runc.bundle(prefix + ["/bin/true"])) for name, _, prefix in inits]
            samples = startup(runc, methods, a.runs)
            floor = statistics.median(samples[FLOOR])
            reference = statistics.median(samples["tini-static"]) - floor if "tini-static" in samples else None
            print(f"### Start-to-exit of `runc run`, INIT -- /bin/true ({a.runs} runs each, interleaved; "
                  f"load {load()} at the end)\n")
            print("| PID 1 | median ms | IQR ms | overhead over the floor ms | its 95 % interval ms | "
                  "overhead / tini-static's |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, _ in methods:
                q1, med, q3 = quartiles(samples[name])
                over = med - floor
                ratio = f"{over / reference:.2f}" if reference and name != FLOOR else ""
                low, high = overhead_interval(samples[name], samples[FLOOR]) if name != FLOOR else (0, 0)
                interval = f"{low:.2f} to {high:.2f}" if name != FLOOR else ""
                print(f"| {name} | {med:.2f} | {q1:.2f}–{q3:.2f} | {over:.2f} | {interval} | {ratio} |")
            print(flush=True)

        if "idle" in sections:
            bundles = [(name, runc.bundle(prefix + ["sleep", "1000"])) for name, _, prefix in inits]
            figures = {name: [] for name, _ in bundles}
            for r in range(a.idle_containers):
                for name, bundle in rotated(bundles, r):
                    figures[name].append(idle_once(runc, bundle))
            print(f"### Idle: the init's memory with `sleep 1000` as its program ({a.idle_containers} containers "
                  f"each; min–max; load {load()} at the end)\n")
            print("| init | Rss KiB at 1 s | Rss KiB at 3 s | Pss KiB at 1 s | Pss KiB at 3 s | Pss_Anon KiB | Pss_File KiB |")
            print("|---|---:|---:|---:|---:|---:|---:|")

            def span(values):
                return f"{min(values)}" if min(values) == max(values) else f"{min(values)}–{max(values)}"
            for name, _ in bundles:
                f = figures[name]
                print(f"| {name} | {span([x[0]['Rss'] for x in f])} | {span([x[1]['Rss'] for x in f])} | "
                      f"{span([x[0]['Pss'] for x in f])} | {span([x[1]['Pss'] for x in f])} | "
                      f"{span([x[1]['Pss_Anon'] for x in f])} | {span([x[1]['Pss_File'] for x in f])} |")
            print(flush=True)

        if "storm" in sections:
            bundles = [(name, runc.bundle(prefix + ["/bin/cli_zombie_storm", str(a.storm)])) for name, _, prefix in inits]
            results = {name: [] for name, _ in bundles}
            for t in range(a.storm_trials):
                for name, bundle in rotated(bundles, t):
                    results[name].append(storm_once(runc, bundle, name))
            print(f"### Storm: {a.storm:,} orphaned zombies at once ({a.storm_trials} trials each, interleaved; "
                  f"load {load()} at the end)\n")
            print("| init | reaped all in ms, median (min–max) | then the container was gone in ms, median | "
                  "zombies left | container's exit code | (forking them took ms) |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, _ in bundles:
                r = results[name]
                reap = [x[0] for x in r]
                print(f"| {name} | {statistics.median(reap):.1f} ({min(reap):.1f}–{max(reap):.1f}) | "
                      f"{statistics.median([x[2] for x in r]):.1f} | {max(x[1] for x in r)} | "
                      f"{','.join(sorted({str(x[4]) for x in r}))} | {statistics.median([x[3] for x in r]):.0f} |")
            print(flush=True)

        if "shutdown" in sections:
            program = ["sh", "-c", "trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.1; done"]
            print(f"### Shutdown: `runc kill ID TERM`, the program catches SIGTERM and carries on "
                  f"(cap {a.shutdown_cap:g} s, then `runc kill ID KILL`)\n")
            print("| init | SIGTERM forwarded to the program | the container ended after s | by | exit code |")
            print("|---|---|---:|---|---:|")
            for name, _, prefix in inits:
                forwarded, seconds, code, capped = shutdown_once(runc, runc.bundle(prefix + program), a.shutdown_cap)
                by = "the runtime's SIGKILL at the cap" if capped else "the init"
                print(f"| {name} | {'yes' if forwarded else 'no'} | {seconds:.2f} | {by} | {code} |", flush=True)
            print()
        print(f"Load average at the end: {load()}")
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
