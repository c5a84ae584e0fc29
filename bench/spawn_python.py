#!/usr/bin/env python3
"""Python's spawn+wait timings for brood's benchmarks.

Two ways to start a program and wait for it, each timed here (time.perf_counter_ns) so that the
interpreter's own start-up is never counted:

  subprocess.run      subprocess.run([exe]) -- the usual way; CPython's _posixsubprocess
                      (vfork when it can, close_fds=True via close_range)
  os.posix_spawn      os.posix_spawn(exe, [exe], os.environ) + os.waitpid -- glibc posix_spawn

Modes:
  spawn_python.py --serve [--hold-gib G]
      A helper for the C++ drivers (bench/spawn_compare.cpp, bench/spawn_memory.cpp), so that Python
      is measured interleaved with the other methods in the same run. It prints one line
      "python X.Y.Z rss_kib=N", then answers each request line "<method> <n> <exe>" with one line:
      the mean microseconds per spawn+wait of n runs. "quit" (or end of input) ends it.
  spawn_python.py [--hold-gib G] [-n N] [--rounds R] exe
      Alone: both methods in interleaved rounds, medians printed.

--hold-gib G makes the interpreter hold a bytearray of G GiB with every page written, as a parent
with that much touched memory.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

METHODS = ("subprocess.run", "os.posix_spawn")
PAGE = 4096


def spawn_wait_subprocess(exe):
    rc = subprocess.run([exe]).returncode
    if rc != 0:
        raise RuntimeError(f"{exe} exited {rc}")


def spawn_wait_posix_spawn(exe):
    pid = os.posix_spawn(exe, [exe], os.environ)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"{exe} wait status {status}")


RUNNERS = {"subprocess.run": spawn_wait_subprocess, "os.posix_spawn": spawn_wait_posix_spawn}


def batch_us(method, n, exe):
    """Mean microseconds per spawn+wait over n runs."""
    run = RUNNERS[method]
    t0 = time.perf_counter_ns()
    for _ in range(n):
        run(exe)
    return (time.perf_counter_ns() - t0) / n / 1000.0


def hold(gib):
    """A bytearray of gib GiB with every page written (kept alive by the caller)."""
    size = int(gib * (1 << 30))
    if size <= 0:
        return None
    buf = bytearray(size)
    buf[::PAGE] = b"\x01" * len(range(0, size, PAGE))
    return buf


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def serve():
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"python {version} rss_kib={rss_kib()}", flush=True)
    for line in sys.stdin:
        words = line.split(maxsplit=2)
        if not words or words[0] == "quit":
            break
        try:
            method, n, exe = words[0], int(words[1]), words[2].rstrip("\n")
            if method not in RUNNERS or not 1 <= n <= 100000:
                raise ValueError(f"bad request {line.strip()!r}")
            print(f"{batch_us(method, n, exe):.3f}", flush=True)
        except Exception as e:  # the driver shows the message and stops
            print(f"error: {e}", flush=True)


def standalone(args):
    samples = {m: [] for m in METHODS}
    for m in METHODS:
        batch_us(m, 3, args.exe)
    for r in range(args.rounds):
        order = METHODS if r % 2 == 0 else tuple(reversed(METHODS))
        for m in order:
            samples[m].append(batch_us(m, args.n, args.exe))
    print(f"python {sys.version.split()[0]} ({sys.executable}), {args.exe}, "
          f"held {args.hold_gib} GiB, rss {rss_kib()} KiB, {args.rounds} rounds x {args.n}")
    for m in METHODS:
        print(f"  {m:16} median {statistics.median(samples[m]):9.1f} us/spawn+wait")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--serve", action="store_true", help="answer requests on stdin (for the C++ drivers)")
    p.add_argument("--hold-gib", type=float, default=0.0, help="hold this much touched memory")
    p.add_argument("-n", type=int, default=200, help="spawns per batch (standalone)")
    p.add_argument("--rounds", type=int, default=9, help="interleaved rounds (standalone)")
    p.add_argument("exe", nargs="?", help="program to spawn (standalone)")
    args = p.parse_args()
    if not 0 <= args.hold_gib <= 64:
        p.error("--hold-gib must be 0..64")
    held = hold(args.hold_gib)  # noqa: F841 -- kept alive until main returns
    if args.serve:
        serve()
    elif args.exe:
        if not (1 <= args.n <= 100000 and 1 <= args.rounds <= 1000):
            p.error("-n must be 1..100000 and --rounds 1..1000")
        standalone(args)
    else:
        p.error("give --serve or a program")


if __name__ == "__main__":
    main()
