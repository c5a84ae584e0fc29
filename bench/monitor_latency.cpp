// monitor_latency: how soon a stop is reported, and what a watched child costs in memory.
//
//   monitor_latency [--tries 1000] [--others 0,1000,9999] [--memory-children 10000]
//                   [--memory-only exits|stops]
//
// Stop latency: one watched child, the newest, behind `others` idle watched children (older, so
// ahead of it in the kernel's children list, which waitid(P_ALL) walks). Each try: clock, SIGSTOP
// (through the pidfd), next_event() until the stopped event; then SIGCONT and its continued event,
// untimed. Median and p99 in microseconds. Reference: the same stop seen by a blocking
// waitid(P_PID, WSTOPPED), the floor for any user-space monitor.
//
// Memory per watched child, for n adopted sleepers: user space from RssAnon (the child handles,
// whose states come from brood's own slabs and its registry from a mapping of its own, neither of
// which malloc counts; then what the monitor adds), kernel from /proc/slabinfo (pidfd: file, pidfs
// inode and dentry; epoll: epitem), as active objects x object size. Each of the two cases (exits
// only, report_stops) runs in a fresh process of this driver (--memory-only): RssAnon counts pages,
// and memory freed by an earlier part of the run would be reused without growing it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

#include <brood/command.hpp>
#include <brood/monitor.hpp>

#include "measure.hpp"
#include "monitor_sleepers.hpp"

namespace {

using brood_bench::die;
using brood_bench::parse_sizes;
using brood_bench::quantile;

using clock_type = std::chrono::steady_clock;

double us_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
}

brood::monitor::event next_of(brood::monitor& mon) {
    auto e = mon.next_event(std::chrono::seconds(10));
    if (!e) die("no event within 10 s");
    return *e;
}

struct latency {
    std::vector<double> monitor_us, raw_us;
};

latency stop_latency(std::size_t others, int tries) {
    brood_bench::sleepers kids = brood_bench::fork_sleepers(others + 1);
    latency out;
    {
        brood::monitor mon({.report_stops = true});
        brood::monitor::watch_id target{};
        for (pid_t pid : kids.pids) target = mon.watch(brood::child::adopt(pid));
        brood::child& c = *mon.find(target);
        for (int i = 0; i < tries; ++i) {
            const auto start = clock_type::now();
            c.stop();
            const brood::monitor::event stopped = next_of(mon);
            out.monitor_us.push_back(us_since(start));
            if (stopped.watch != target || stopped.status->stopped_signal() != SIGSTOP) die("unexpected event");
            c.resume();
            if (!next_of(mon).status->continued()) die("expected a continued event");
        }
    }  // kills and reaps every child
    brood_bench::sleepers one = brood_bench::fork_sleepers(1);
    const pid_t pid = one.pids[0];
    for (int i = 0; i < tries; ++i) {
        siginfo_t info{};
        const auto start = clock_type::now();
        ::kill(pid, SIGSTOP);
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WSTOPPED) == -1) die("waitid WSTOPPED");
        out.raw_us.push_back(us_since(start));
        ::kill(pid, SIGCONT);
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WCONTINUED) == -1) die("waitid WCONTINUED");
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return out;
}

// Active bytes of the slab caches a pidfd and an epoll registration use.
std::map<std::string, long long> slab_bytes() {
    static const char* const caches[] = {"filp", "dentry", "inode_cache", "pidfs_attr_cache", "eventpoll_epi"};
    std::map<std::string, long long> out;
    std::ifstream file("/proc/slabinfo");
    for (std::string line; std::getline(file, line);) {
        std::istringstream fields(line);
        std::string name;
        long long active = 0, total = 0, size = 0;
        fields >> name >> active >> total >> size;
        for (const char* cache : caches)
            if (name == cache) out[name] = active * size;
    }
    return out;
}

long long anon_bytes() { return brood_bench::status_field("RssAnon") * 1024LL; }

void print_slab_delta(const char* what, const std::map<std::string, long long>& before,
                      const std::map<std::string, long long>& after, std::size_t n) {
    std::printf("  kernel, %s:", what);
    long long sum = 0;
    for (const auto& [name, bytes] : after) {
        const long long delta = bytes - before.at(name);
        sum += delta;
        std::printf(" %s %+.0f", name.c_str(), static_cast<double>(delta) / static_cast<double>(n));
    }
    std::printf(" = %.0f B per child\n", static_cast<double>(sum) / static_cast<double>(n));
}

void memory_per_child(std::size_t n, bool stops) {
    brood_bench::sleepers kids = brood_bench::fork_sleepers(n);
    const long long heap0 = anon_bytes();
    const auto slab0 = slab_bytes();
    std::vector<brood::child> handles;
    handles.reserve(n);
    for (pid_t pid : kids.pids) handles.push_back(brood::child::adopt(pid));
    const long long heap1 = anon_bytes();
    const auto slab1 = slab_bytes();
    {
        brood::monitor mon({.report_stops = stops});
        for (brood::child& c : handles) mon.watch(std::move(c));
        const long long heap2 = anon_bytes();
        const auto slab2 = slab_bytes();
        const double per = 1.0 / static_cast<double>(n);
        std::printf("memory per watched child, %zu children, %s:\n", n, stops ? "report_stops" : "exits only");
        // heap1 - heap0 also holds the caller's vector of n handles, which is not part of the cost.
        const double state = static_cast<double>(heap1 - heap0) * per - static_cast<double>(sizeof(brood::child));
        const double own = static_cast<double>(heap2 - heap1) * per;
        std::printf("  user space: child state %.0f B (brood::child's state + registry entry)"
                    " + monitor %.0f B (slot + pid index) = %.0f B\n",
                    state, own, state + own);
        print_slab_delta("pidfd", slab0, slab1, n);
        print_slab_delta("epoll registration", slab1, slab2, n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    int tries = 1000;
    std::vector<std::size_t> others{0, 1000, 9999};
    std::size_t memory_children = 10000;
    std::string memory_only;  // "exits" or "stops": only that memory case, in this process
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--tries") == 0) {
            tries = std::atoi(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--others") == 0) {
            others = parse_sizes(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--memory-children") == 0) {
            memory_children = std::stoul(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--memory-only") == 0 &&
                   (std::strcmp(argv[i + 1], "exits") == 0 || std::strcmp(argv[i + 1], "stops") == 0)) {
            memory_only = argv[i + 1];
        } else {
            std::fprintf(stderr, "usage: monitor_latency [--tries 1000] [--others 0,1000,9999] [--memory-children 10000]"
                                 " [--memory-only exits|stops]\n");
            return 2;
        }
    }
    if (!memory_only.empty()) {
        brood_bench::raise_fd_limit(memory_children + 64);
        memory_per_child(memory_children, memory_only == "stops");
        return 0;
    }
    brood_bench::raise_fd_limit(std::max(memory_children, *std::max_element(others.begin(), others.end()) + 1) + 64);

    std::printf("kill -STOP -> stopped event delivered, %d tries (us)\n", tries);
    std::printf("%9s | %9s %9s | %9s %9s\n", "children", "median", "p99", "raw med", "raw p99");
    for (std::size_t n : others) {
        const latency l = stop_latency(n, tries);
        std::printf("%9zu | %9.1f %9.1f | %9.1f %9.1f\n", n + 1, quantile(l.monitor_us, 0.5),
                    quantile(l.monitor_us, 0.99), quantile(l.raw_us, 0.5), quantile(l.raw_us, 0.99));
        std::fflush(stdout);
    }
    std::printf("\nsizeof(brood::child) %zu B\n", sizeof(brood::child));
    std::fflush(stdout);
    for (const char* which : {"exits", "stops"}) {
        const brood::wait_status status = brood::command("/proc/self/exe")
                                              .args(std::vector<std::string>{"--memory-children",
                                                                             std::to_string(memory_children),
                                                                             "--memory-only", which})
                                              .spawn()
                                              .wait();
        if (!status.success()) std::fprintf(stderr, "monitor_latency: memory case %s %s\n", which, status.to_string().c_str());
    }
    return 0;
}
