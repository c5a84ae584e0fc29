#!/usr/bin/env python3
"""What brood up --http costs, side by side in one run.

  http_cost.py --brood PATH [--instances 500] [--requests 200] [--programs 10] [--idle-seconds 30]
               [--rounds 3]

  scrape  one brood up with --instances instances of `sleep`, HTTP on: the time of GET /metrics
          (connect, request, whole answer), against the same supervisor's status through
          `brood status --json` (what a script would run) and through one raw request on the control
          socket (the same work without starting a process). --requests of each, interleaved;
          median and p99 in ms, and brood's own CPU time for each (/proc/PID/schedstat), which a
          loaded machine inflates less than the time seen from outside.
  idle    --programs programs of `sleep`, brood up without --http and with --http 127.0.0.1:0 and
          nobody connected, --rounds rounds each, interleaved: brood's own PSS (smaps_rollup) after
          2 s of calm, and its CPU time and context switches (wake-ups) over --idle-seconds.

Prints Markdown tables, the goals and the machine's load; exits 3 when a goal is not met (GET
/metrics under 5 ms at the median, no idle wake-up with --http, at most 300 KiB more PSS). The PSS,
CPU and wake-up readers are supervisor_compare.py's.
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from supervisor_compare import cpu_and_switches, pss_kib, quantile  # noqa: E402


def die(message):
    sys.exit(f"http_cost: {message}")


def write_config(root, programs, instances):
    conf = os.path.join(root, "brood.toml")
    with open(conf, "w") as f:
        for i in range(programs):
            f.write(f'[programs.p{i}]\ncommand = "sleep 100000"\ninstances = {instances}\n\n')
    return conf


class brood_up:
    """brood up on a configuration of its own, its stderr followed until every instance is ready."""

    def __init__(self, brood, root, programs, instances, http):
        self.root = root
        conf = write_config(root, programs, instances)
        argv = [brood, "up", "-c", conf] + (["--http", "127.0.0.1:0"] if http else [])
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.address = None
        ready, wanted = 0, programs * instances
        for line in self.process.stderr:
            match = re.search(r"http on ([0-9.]+):(\d+)", line)
            if match:
                self.address = (match.group(1), int(match.group(2)))
            if "-> ready" in line:
                ready += 1
                if ready == wanted:
                    break
        if ready != wanted:
            die(f"brood up ended before {wanted} instances were ready")
        # brood says nothing more while idle; what it would say goes on being read all the same.
        self.rest = subprocess.Popen(["cat"], stdin=self.process.stderr, stdout=subprocess.DEVNULL)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.rest.wait(timeout=10)


def http_get(address, path):
    with socket.create_connection(address) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        chunks = []
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/1.1 200"):
        die(f"GET {path}: {answer[:80]!r}")
    return answer


def control_status(socket_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(socket_path)
        s.sendall(b'{"id":1,"verb":"status"}\n')
        buffer = b""
        while not buffer.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buffer += chunk
    if not json.loads(buffer)["ok"]:
        die("the control socket refused status")
    return buffer


def timed(action):
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def scrape(brood, instances, requests):
    with tempfile.TemporaryDirectory(prefix="brood-http-bench-") as root:
        up = brood_up(brood, root, 1, instances, http=True)
        conf = os.path.join(root, "brood.toml")
        sock = os.path.join(root, ".brood", "brood.sock")
        size = len(http_get(up.address, "/metrics"))
        samples = {"GET /metrics": [], "brood status --json": [], "control socket status": []}
        brood_cpu = {name: [] for name in samples}  # brood's own CPU time for each request, ms
        actions = {
            "GET /metrics": lambda: http_get(up.address, "/metrics"),
            "brood status --json": lambda: subprocess.run([brood, "status", "--json", "-c", conf], check=True,
                                                          stdout=subprocess.DEVNULL),
            "control socket status": lambda: control_status(sock),
        }
        for _ in range(requests):
            for name, action in actions.items():
                before = cpu_and_switches([up.process.pid])[0]
                samples[name].append(timed(action))
                brood_cpu[name].append((cpu_and_switches([up.process.pid])[0] - before) / 1e6)
        up.stop()
    print(f"\n### {instances} instances: GET /metrics ({size} bytes) against status, {requests} each, interleaved\n")
    print("| request | median ms | p99 ms | median / GET /metrics | brood's CPU ms, median |")
    print("|---|---:|---:|---:|---:|")
    base = statistics.median(samples["GET /metrics"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {quantile(values, 0.99):.2f} | {median / base:.2f} | "
              f"{statistics.median(brood_cpu[name]):.2f} |")
    return base, statistics.median(brood_cpu["GET /metrics"])


def idle(brood, programs, seconds, rounds):
    results = {False: [], True: []}
    for _ in range(rounds):
        for http in (False, True):
            with tempfile.TemporaryDirectory(prefix="brood-http-idle-") as root:
                up = brood_up(brood, root, programs, 1, http)
                time.sleep(2)
                pid = up.process.pid
                pss = pss_kib(pid)
                cpu0, switches0 = cpu_and_switches([pid])
                time.sleep(seconds)
                cpu1, switches1 = cpu_and_switches([pid])
                results[http].append((pss, (cpu1 - cpu0) / 1e6, switches1 - switches0))
                up.stop()
    print(f"\n### Idle, {programs} programs: brood's own PSS, and its CPU time and wake-ups over {seconds} s "
          f"(median of {rounds}, interleaved)\n")
    print("| brood up | PSS KiB | idle CPU ms | idle wake-ups (context switches) |")
    print("|---|---:|---:|---:|")
    for http, label in ((False, "without --http"), (True, "--http 127.0.0.1:0, nobody connected")):
        rows = results[http]
        print(f"| {label} | {statistics.median(r[0] for r in rows):.0f} | "
              f"{statistics.median(r[1] for r in rows):.2f} | {statistics.median(r[2] for r in rows):.0f} |")
    difference = statistics.median(r[0] for r in results[True]) - statistics.median(r[0] for r in results[False])
    print(f"\nPSS with --http minus without: {difference:+.0f} KiB "
          f"(each round: {[r[0] for r in results[False]]} vs {[r[0] for r in results[True]]})")
    return difference, max(r[2] for r in results[True]), max(r[2] for r in results[False])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brood", required=True)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--programs", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scrape_ms, scrape_cpu_ms = scrape(args.brood, args.instances, args.requests)
    extra_pss, wakeups_on, wakeups_off = idle(args.brood, args.programs, args.idle_seconds, args.rounds)
    goals = [
        (f"GET /metrics for {args.instances} instances under 5 ms (median)",
         f"{scrape_ms:.2f} ms ({scrape_cpu_ms:.2f} ms of brood's CPU)", scrape_ms < 5),
        ("no idle wake-up with --http, nobody connected (every round)", str(wakeups_on), wakeups_on == 0),
        ("no idle wake-up without --http (every round)", str(wakeups_off), wakeups_off == 0),
        (f"PSS with --http at most 300 KiB above without ({args.programs} programs)", f"{extra_pss:+.0f} KiB",
         extra_pss <= 300),
    ]
    print("\n| goal | figure | met? |\n|---|---|---|")
    for goal, figure, met in goals:
        print(f"| {goal} | {figure} | {'met' if met else 'NOT MET'} |")
    print(f"\nload: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    return 0 if all(met for _, _, met in goals) else 3


if __name__ == "__main__":
    sys.exit(main())
