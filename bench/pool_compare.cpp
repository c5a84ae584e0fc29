// pool_compare: brood::pool against Python's multiprocessing.Pool and a raw pipe, in one run.
//
//   pool_compare [--n N] [--python-n1 N] [--rounds R] [--workers W] [--depth D] [--python PY] [--no-python]
//
// Tiny tasks (x + 1 on integers), both pools created once before timing, W = 2 workers:
//   raw pipe ping-pong           two processes, one byte each way: the floor of a blocking round trip
//   brood submit(x).get()        one task's round trip through the shared-memory ring
//   Python apply_async().get()   the same in Python (context)
//   brood map, own batching      pool.map(iota(0, n)): default chunks
//   brood map, chunk_size 1      one task per message, D messages queued per worker
//   Python map, default chunks   Pool(W).map(f, range(n))
//   Python map, chunksize=1      Pool(W).map(f, range(n1), chunksize=1)  (n1 smaller: it is slow)
// Methods are interleaved in rounds (order rotated); the table shows medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ranges>
#include <string>
#include <vector>

#include <sys/utsname.h>
#include <unistd.h>

#include <brood/command.hpp>
#include <brood/fork.hpp>
#include <brood/pool.hpp>

#include "measure.hpp"
#include "python_peer.hpp"

#ifndef BENCH_POOL_PYTHON_SCRIPT
#define BENCH_POOL_PYTHON_SCRIPT "pool_python.py"
#endif

namespace {

using brood_bench::die;
using brood_bench::python_peer;
using brood_bench::median;

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// A child that answers every byte with a byte: the round trip every pipe-based pool pays.
class ping_pong {
public:
    ping_pong() {
        int down[2], up[2];
        if (::pipe(down) != 0 || ::pipe(up) != 0) die("pipe");
        peer_ = brood::fork([&] {
            ::close(down[1]);
            ::close(up[0]);
            char c;
            while (::read(down[0], &c, 1) == 1)
                if (::write(up[1], &c, 1) != 1) break;
        });
        ::close(down[0]);
        ::close(up[1]);
        to_ = brood::unique_fd(down[1]);
        from_ = brood::unique_fd(up[0]);
    }
    ~ping_pong() {
        to_.reset();
        peer_.wait();
    }
    // Mean microseconds of n round trips.
    double run(int n) {
        const auto t0 = clock_type::now();
        char c = 'x';
        for (int i = 0; i < n; ++i)
            if (::write(to_.get(), &c, 1) != 1 || ::read(from_.get(), &c, 1) != 1) die("ping-pong");
        return seconds_since(t0) / n * 1e6;
    }

private:
    brood::child peer_;
    brood::unique_fd to_, from_;
};

struct method {
    std::string name;
    std::string unit;  // "µs" per round trip, or "tasks/s"
    std::function<double()> sample;
    std::vector<double> samples;
};

}  // namespace

int main(int argc, char** argv) {
    int n = 1'000'000;
    int python_n1 = 100'000;
    int rounds = 5;
    std::size_t workers = 2;
    std::size_t depth = 256;
    std::string python = "/usr/bin/python3";
    bool use_python = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--n") n = std::atoi(value().c_str());
        else if (a == "--python-n1") python_n1 = std::atoi(value().c_str());
        else if (a == "--rounds") rounds = std::atoi(value().c_str());
        else if (a == "--workers") workers = std::strtoul(value().c_str(), nullptr, 10);
        else if (a == "--depth") depth = std::strtoul(value().c_str(), nullptr, 10);
        else if (a == "--python") python = value();
        else if (a == "--no-python") use_python = false;
        else die("usage: pool_compare [--n N] [--python-n1 N] [--rounds R] [--workers W] [--depth D] [--python PY] [--no-python]");
    }
    if (n < 1000 || python_n1 < 100 || rounds < 1 || rounds > 100 || workers < 1 || depth < 1)
        die("--n >= 1000, --python-n1 >= 100, --rounds 1..100, --workers >= 1, --depth >= 1");

    utsname u{};
    ::uname(&u);
    double load[3] = {0, 0, 0};
    ::getloadavg(load, 3);
    std::printf("pool_compare: kernel %s, %ld cpus, load %.2f %.2f %.2f, %zu workers, n = %d, %d rounds\n", u.release,
                ::sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], workers, n, rounds);

    brood::pool<int, int> pool([](int x) { return x + 1; }, {.workers = workers});
    ping_pong pipe;
    std::unique_ptr<python_peer> py;
    if (use_python) {
        py = std::make_unique<python_peer>(python, BENCH_POOL_PYTHON_SCRIPT,
                                           std::vector<std::string>{"--workers", std::to_string(workers)});
        std::printf("peer: %s (%s), multiprocessing fork context, Pool(%zu)\n", py->greeting().c_str(), python.c_str(),
                    workers);
    }
    const int trips = 20'000;
    auto check = [&](const std::vector<int>& out, int count) {
        if (out.size() != static_cast<std::size_t>(count) || out.back() != count) die("wrong map results");
    };

    std::vector<method> ms;
    ms.push_back({"raw pipe ping-pong (1 byte each way)", "µs", [&] { return pipe.run(trips); }, {}});
    ms.push_back({"brood submit(x).get()", "µs", [&] {
                      const auto t0 = clock_type::now();
                      for (int i = 0; i < trips; ++i)
                          if (pool.submit(i).get() != i + 1) die("wrong result");
                      return seconds_since(t0) / trips * 1e6;
                  }, {}});
    ms.push_back({"brood map, own batching", "tasks/s", [&] {
                      const auto t0 = clock_type::now();
                      const auto out = pool.map(std::views::iota(0, n));
                      const double s = seconds_since(t0);
                      check(out, n);
                      return n / s;
                  }, {}});
    ms.push_back({"brood map, chunk_size 1, " + std::to_string(depth) + " queued per worker", "tasks/s", [&] {
                      const auto t0 = clock_type::now();
                      const auto out = pool.map(std::views::iota(0, n), {.chunk_size = 1, .in_flight = depth});
                      const double s = seconds_since(t0);
                      check(out, n);
                      return n / s;
                  }, {}});
    if (py) {
        ms.push_back({"Python apply_async(f, (x,)).get()", "µs", [&] { return py->ask("apply 2000"); }, {}});
        ms.push_back({"Python Pool.map, default chunksize", "tasks/s",
                      [&] { return n / py->ask("map " + std::to_string(n) + " 0"); }, {}});
        ms.push_back({"Python Pool.map, chunksize=1 (n = " + std::to_string(python_n1) + ")", "tasks/s",
                      [&] { return python_n1 / py->ask("map " + std::to_string(python_n1) + " 1"); }, {}});
    }

    for (auto& m : ms) m.sample();  // warm-up: page tables, rings, caches
    for (int r = 0; r < rounds; ++r)
        for (std::size_t k = 0; k < ms.size(); ++k) {
            method& m = ms[(k + static_cast<std::size_t>(r)) % ms.size()];
            m.samples.push_back(m.sample());
        }

    auto find = [&](const std::string& prefix) -> double {
        for (auto& m : ms)
            if (m.name.rfind(prefix, 0) == 0) return median(m.samples);
        return 0;
    };
    const double ping = find("raw pipe"), submit = find("brood submit"), batched = find("brood map, own"),
                 single = find("brood map, chunk_size 1"), py_default = find("Python Pool.map, default"),
                 py_single = find("Python Pool.map, chunksize=1");

    std::printf("\n| method | median | min .. max |\n|---|---:|---:|\n");
    for (auto& m : ms) {
        const auto [lo, hi] = std::minmax_element(m.samples.begin(), m.samples.end());
        if (m.unit == "µs")
            std::printf("| %s | %.2f µs | %.2f .. %.2f |\n", m.name.c_str(), median(m.samples), *lo, *hi);
        else
            std::printf("| %s | %.0f tasks/s | %.0f .. %.0f |\n", m.name.c_str(), median(m.samples), *lo, *hi);
    }
    std::printf("\n| goal | measured | met |\n|---|---:|:---:|\n");
    std::printf("| submit().get() <= raw pipe round trip | %.2f µs vs %.2f µs (%.2fx) | %s |\n", submit, ping,
                submit / ping, submit <= ping ? "yes" : "no");
    if (py) {
        std::printf("| brood map (own batching) >= 10x Python default chunksize | %.1fx | %s |\n", batched / py_default,
                    batched >= 10 * py_default ? "yes" : "no");
        std::printf("| brood one task per message >= 3x Python chunksize=1 | %.1fx | %s |\n", single / py_single,
                    single >= 3 * py_single ? "yes" : "no");
    }
    ::getloadavg(load, 3);
    std::printf("\nload after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}
