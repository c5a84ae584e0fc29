#!/usr/bin/env python3
"""Python's multiprocessing.Pool (fork start method) timings for bench/pool_compare.cpp.

The reference users know: Pool(2).map(f, range(n)) with f = x + 1, with the default chunksize
(ceil(n / (4 * workers))) and with chunksize=1, and one apply_async(f, (x,)).get() round trip.
The pool is created once; only the calls are timed (time.perf_counter_ns).

Modes:
  pool_python.py --serve [--workers W]
      A helper for the C++ driver, so that Python is measured interleaved with brood in the same
      run. Prints one line "python X.Y.Z", then answers each request line with one line:
        map <n> <chunksize>     seconds for pool.map(f, range(n), chunksize) (0: the default)
        apply <n>               mean microseconds of n apply_async(f, (i,)).get() in a row
      "quit" (or end of input) ends it.
  pool_python.py [--workers W] [-n N]
      Alone: prints the three figures once.
"""
import argparse
import multiprocessing
import platform
import sys
import time


def f(x):
    return x + 1


def time_map(pool, n, chunksize):
    t0 = time.perf_counter_ns()
    out = pool.map(f, range(n), chunksize or None)
    dt = (time.perf_counter_ns() - t0) / 1e9
    if len(out) != n or out[-1] != n:
        raise RuntimeError("wrong results")
    return dt


def time_apply(pool, n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        if pool.apply_async(f, (i,)).get() != i + 1:
            raise RuntimeError("wrong result")
    return (time.perf_counter_ns() - t0) / n / 1000.0


def serve(pool):
    print(f"python {platform.python_version()}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "map":
            print(f"{time_map(pool, int(words[1]), int(words[2])):.6f}", flush=True)
        elif words[0] == "apply":
            print(f"{time_apply(pool, int(words[1])):.3f}", flush=True)
        else:
            print(f"error unknown request {line.strip()!r}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("-n", type=int, default=1_000_000)
    args = parser.parse_args()
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        if args.serve:
            serve(pool)
            return
        print(f"python {platform.python_version()}, Pool({args.workers}), n = {args.n}")
        dt = time_map(pool, args.n, 0)
        print(f"map, default chunksize: {dt:.3f} s, {args.n / dt:,.0f} tasks/s")
        n1 = min(args.n, 100_000)
        dt = time_map(pool, n1, 1)
        print(f"map, chunksize=1 (n = {n1}): {dt:.3f} s, {n1 / dt:,.0f} tasks/s")
        print(f"apply_async().get() round trip: {time_apply(pool, 2000):.1f} us")


if __name__ == "__main__":
    main()
