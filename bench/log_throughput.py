#!/usr/bin/env python3
"""brood up relaying a program's output to its log file, against the floors: the same program
writing to the file itself, and through `cat` relaying a pipe to the file.

  log_throughput.py --writer PATH --brood PATH [--rate 100] [--seconds 10] [--line 100]

The program (bench/line_writer.c, PATH) writes numbered lines of --line bytes at --rate MB/s (0:
as fast as it can) for --seconds. For each setup: MB/s that reached the file (its size over the
time from the start until the file holds everything the program wrote). Under brood up also: the
latency of `status` requests on the control socket, one every 100 ms during the run (median, max),
and brood's peak memory (VmHWM) and memory at the end (VmRSS). brood's own stdout (live output)
goes to /dev/null; log.max_size = 0, so the whole run is in one file. Prints Markdown tables.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def wait_for_size(path, size, limit):
    until = time.monotonic() + limit
    while time.monotonic() < until:
        try:
            if os.path.getsize(path) >= size:
                return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.005)
    return None


def writer_argv(a):
    return [a.writer, str(a.rate), str(a.seconds), str(a.line)]


def floor_file(a, root):
    out = os.path.join(root, "direct.log")
    start = time.monotonic()
    with open(out, "wb") as f:
        r = subprocess.run(writer_argv(a), stdout=f, stderr=subprocess.PIPE, check=True)
    end = time.monotonic()
    written = int(r.stderr)
    size = os.path.getsize(out)
    os.unlink(out)
    return {"setup": "program > file", "written": written, "size": size, "seconds": end - start}


def floor_cat(a, root):
    out = os.path.join(root, "cat.log")
    start = time.monotonic()
    with open(out, "wb") as f:
        cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=f)
        r = subprocess.run(writer_argv(a), stdout=cat.stdin, stderr=subprocess.PIPE, check=True)
        cat.stdin.close()
        cat.wait()
    end = time.monotonic()
    written = int(r.stderr)
    size = os.path.getsize(out)
    os.unlink(out)
    return {"setup": "program, cat > file", "written": written, "size": size, "seconds": end - start}


def ask_status(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    begin = time.monotonic()
    s.connect(sock_path)
    s.sendall(b'{"id":1,"verb":"status"}\n')
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    took = time.monotonic() - begin
    s.close()
    return took, json.loads(data)


def memory_kib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def expected_size(a, written, extra_log):
    """What the log holds once every line is in: the lines, each in the log's format."""
    lines = written // a.line
    if "timestamps" in extra_log:
        return written + lines * len("2026-12-06T20:49:53.123456Z stdout ")
    if "json" in extra_log:
        one = json.dumps({"time": "2026-12-06T20:49:53.123456Z", "instance": "flood.0", "stream": "stdout",
                          "line": "x" * (a.line - 1)}, separators=(",", ":"))
        return lines * (len(one) + 1)
    return written


def brood_up(a, root, extra_log=""):
    wrote = os.path.join(root, "written")
    if os.path.exists(wrote):
        os.unlink(wrote)
    config = os.path.join(root, "brood.toml")
    with open(config, "w") as f:
        f.write(f'[programs.flood]\ncommand = "{" ".join(writer_argv(a))} 2>{wrote}"\nshell = true\n'
                f'restart = "never"\nlog = {{ max_size = 0{extra_log} }}\n')
    log = os.path.join(root, ".brood", "logs", "flood.0.log")
    sock = os.path.join(root, ".brood", "brood.sock")
    start = time.monotonic()
    brood = subprocess.Popen([a.brood, "up", "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    latencies = []
    peak = {}
    while not os.path.exists(wrote) or os.path.getsize(wrote) == 0:
        time.sleep(0.1)
        try:
            took, reply = ask_status(sock)
            assert reply.get("ok"), reply
            latencies.append(took * 1000)
        except (FileNotFoundError, ConnectionRefusedError):
            pass
        peak = memory_kib(brood.pid)
        if time.monotonic() - start > a.seconds * 5 + 30:
            sys.exit("log_throughput: the writer never finished under brood up")
    written = int(open(wrote).read())
    end = wait_for_size(log, expected_size(a, written, extra_log), 60)
    at_end = memory_kib(brood.pid)
    brood.terminate()
    brood.communicate(timeout=30)
    size = os.path.getsize(log)
    os.unlink(log)
    return {"setup": "brood up" + (f" ({extra_log.strip(', ')})" if extra_log else ""), "written": written,
            "size": size, "seconds": (end or time.monotonic()) - start, "latencies": latencies,
            "hwm": peak.get("VmHWM", 0), "rss": at_end.get("VmRSS", 0)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--writer", required=True)
    p.add_argument("--brood", required=True)
    p.add_argument("--rate", type=float, default=100)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--line", type=int, default=100)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="log_throughput.", dir=os.getcwd()) as root:
        rows = [floor_file(a, root), floor_cat(a, root), brood_up(a, root),
                brood_up(a, root, ", timestamps = true"), brood_up(a, root, ', format = "json"')]
    rate = "as fast as it can" if a.rate == 0 else f"{a.rate:g} MB/s"
    print(f"### {a.line}-byte lines at {rate} for {a.seconds:g} s; "
          f"load {open('/proc/loadavg').read().split()[0]}\n")
    print("| setup | MB written | MB in the file | MB/s of output relayed | vs program > file |")
    print("|---|---:|---:|---:|---:|")
    floor = rows[0]["written"] / rows[0]["seconds"]
    for r in rows:
        mbps = r["written"] / r["seconds"]
        print(f"| {r['setup']} | {r['written'] / 1e6:.0f} | {r['size'] / 1e6:.0f} | {mbps / 1e6:.1f} | {mbps / floor:.2f}× |")
    print("\n| brood up | status requests | status median ms | status max ms | peak RSS KiB | RSS at end KiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows[2:]:
        lat = r["latencies"] or [float("nan")]
        print(f"| {r['setup']} | {len(r['latencies'])} | {statistics.median(lat):.2f} | {max(lat):.2f} | "
              f"{r['hwm']} | {r['rss']} |")
    plain = rows[2]
    ratio = (plain["written"] / plain["seconds"]) / floor
    status_max = max(r["latencies"] and max(r["latencies"]) or float("inf") for r in rows[2:])
    peak = max(r["hwm"] for r in rows[2:])
    print()
    if a.rate > 0:  # as fast as it can: a measure, with no goal
        goal = f"brood up keeps up with {a.rate:g} MB/s: relayed ÷ program > file >= 0.90"
        print(f"goal {goal:<60} {ratio:.3f}  {'MET' if ratio >= 0.9 else 'NOT MET'}")
    print(f"goal {'brood status answered within 100 ms during the flood (max ms)':<60} {status_max:.1f}  "
          f"{'MET' if status_max < 100 else 'NOT MET'}")
    print(f"goal {'brood up peak RSS below 16 MiB (KiB)':<60} {peak}  {'MET' if peak < 16 * 1024 else 'NOT MET'}")


if __name__ == "__main__":
    main()
