// monitor_storm: n sleeping children killed at once (one killpg); the time from the kill until every
// exit has been delivered. brood::monitor against the minimal raw loop, waitid(P_ALL, WEXITED) until
// ECHILD. The goal: monitor / raw <= 1.5 at 10,000 children, and a flat cost per exit.
//
//   monitor_storm [--counts 100,1000,10000] [--rounds 7]
//
// Methods, interleaved in rounds (order rotated every round), median over rounds:
//   raw      waitid(P_ALL, WEXITED) until ECHILD                      (the reference)
//   monitor  brood::monitor, exits only: epoll on pidfds, run() with a handler
//   +stops   the same with report_stops: SIGCHLD via signalfd as well (what a supervisor runs)
// Children are made before the clock starts (raw fork, then child::adopt for the monitor).
// Wall time is mostly the kernel tearing the children down (on both cores); the CPU time of the
// reaping thread over the same span (CLOCK_THREAD_CPUTIME_ID) is the reaper's own work per exit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <brood/monitor.hpp>

#include "measure.hpp"
#include "monitor_sleepers.hpp"

namespace {

using brood_bench::median;

using clock_type = std::chrono::steady_clock;
using brood_bench::die;
using brood_bench::parse_sizes;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

double thread_cpu_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct sample {
    double wall_ms;
    double cpu_ms;
};

sample raw_round(std::size_t n) {
    const brood_bench::sleepers kids = brood_bench::fork_sleepers(n);
    const double cpu_start = thread_cpu_ms();
    const auto start = clock_type::now();
    if (::killpg(kids.group, SIGKILL) == -1) die("killpg");
    std::size_t reaped = 0;
    for (;;) {
        siginfo_t info{};
        if (::waitid(P_ALL, 0, &info, WEXITED) == 0) {
            ++reaped;
        } else if (errno == ECHILD) {
            break;
        } else if (errno != EINTR) {
            die("waitid");
        }
    }
    const sample out{ms_since(start), thread_cpu_ms() - cpu_start};
    if (reaped != n) die("raw loop reaped the wrong number of children");
    return out;
}

sample monitor_round(std::size_t n, bool stops) {
    const brood_bench::sleepers kids = brood_bench::fork_sleepers(n);
    brood::monitor mon({.report_stops = stops});
    for (pid_t pid : kids.pids) mon.watch(brood::child::adopt(pid));
    std::size_t delivered = 0;
    mon.on_event([&](const brood::monitor::event& e) {
        if (e.from == brood::monitor::source::child && e.status->terminal()) ++delivered;
    });
    const double cpu_start = thread_cpu_ms();
    const auto start = clock_type::now();
    if (::killpg(kids.group, SIGKILL) == -1) die("killpg");
    mon.run();  // returns when nothing is watched any more
    const sample out{ms_since(start), thread_cpu_ms() - cpu_start};
    if (delivered != n) die("monitor delivered the wrong number of exits");
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::size_t> counts{100, 1000, 10000};
    int rounds = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--counts") == 0) {
            counts = parse_sizes(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--rounds") == 0) {
            rounds = std::atoi(argv[i + 1]);
        } else {
            std::fprintf(stderr, "usage: monitor_storm [--counts 100,1000,10000] [--rounds 7]\n");
            return 2;
        }
    }
    brood_bench::raise_fd_limit(*std::max_element(counts.begin(), counts.end()) + 64);

    struct method {
        const char* name;
        std::function<sample(std::size_t)> round;
    };
    const method methods[] = {
        {"raw", raw_round},
        {"monitor", [](std::size_t n) { return monitor_round(n, false); }},
        {"+stops", [](std::size_t n) { return monitor_round(n, true); }},
    };
    constexpr std::size_t method_count = std::size(methods);

    std::printf("kill -> all exits delivered: wall ms and ratio to raw; reaping thread's CPU us per exit;\n"
                "median of %d rounds\n", rounds);
    std::printf("%8s | %9s %9s %9s | %7s %7s | %8s %8s %8s\n", "children", "raw ms", "monitor", "+stops", "ratio",
                "+stops", "raw cpu", "mon cpu", "+st cpu");
    for (std::size_t n : counts) {
        std::vector<double> wall[method_count], cpu[method_count];
        for (int r = 0; r < rounds; ++r)
            for (std::size_t k = 0; k < method_count; ++k) {
                const std::size_t which = (k + static_cast<std::size_t>(r)) % method_count;
                const sample s = methods[which].round(n);
                wall[which].push_back(s.wall_ms);
                cpu[which].push_back(s.cpu_ms);
            }
        double w[method_count], c[method_count];
        for (std::size_t k = 0; k < method_count; ++k) {
            w[k] = median(wall[k]);
            c[k] = median(cpu[k]) * 1000.0 / static_cast<double>(n);
        }
        std::printf("%8zu | %9.1f %9.1f %9.1f | %7.2f %7.2f | %8.2f %8.2f %8.2f\n", n, w[0], w[1], w[2], w[1] / w[0],
                    w[2] / w[0], c[0], c[1], c[2]);
        std::fflush(stdout);
    }
    return 0;
}
