// fork_compare: brood::fork(fn) + wait against the raw fork() + _exit + waitpid it wraps.
//
//   fork_compare [--rounds R] [--batch-ms MS]
//
// Methods, interleaved in rounds (order rotated every round), median of the batch means:
//   raw fork()+_exit(0)+waitpid          the reference of the goal (brood ÷ raw <= 1.10)
//   brood::fork([]{}).wait()             flushes stdio, forks, owns a pidfd, _exit(0), waits
//   raw fork()+pidfd_open+waitid(P_PIDFD) what owning a pidfd costs on top of the raw fork (context)
// Also, per fork, the minor page faults of the parent and of the child (getrusage RUSAGE_SELF and
// RUSAGE_CHILDREN over the timed batches): after a fork each page either process writes is copied.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/fork.hpp>

#include "measure.hpp"

namespace {

using brood_bench::die;
using brood_bench::timed;
using brood_bench::quantile;

using clock_type = std::chrono::steady_clock;

struct method {
    method(std::string name_, std::function<double(int n)> batch_) : name(std::move(name_)), batch(std::move(batch_)) {}
    std::string name;
    std::function<double(int n)> batch;  // runs n fork+wait, returns µs per fork+wait
    int n = 0;
    std::vector<double> samples;
    long forks = 0, parent_faults = 0, child_faults = 0;
};

// Minor faults so far: this process's, and its reaped children's.
std::pair<long, long> minor_faults() {
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return {self.ru_minflt, children.ru_minflt};
}

void raw_fork_wait() {
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) _exit(0);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || status != 0) die("raw fork: bad wait");
}

void raw_fork_pidfd_wait() {
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) _exit(0);
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) die("pidfd_open failed");
    siginfo_t info{};
    if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) != 0 ||
        info.si_status != 0)
        die("raw fork+pidfd: bad wait");
    close(pidfd);
}

void brood_fork_wait() {
    brood::wait_status st = brood::fork([] {}).wait();
    if (!st.success()) die("brood::fork: " + st.to_string());
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 15;
    double batch_ms = 40;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--batch-ms" && i + 1 < argc) batch_ms = std::atof(argv[++i]);
        else die("usage: fork_compare [--rounds R] [--batch-ms MS]");
    }
    if (rounds < 3 || rounds > 200 || !(batch_ms >= 1 && batch_ms <= 2000)) die("--rounds 3..200, --batch-ms 1..2000");

    utsname u{};
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("fork_compare: kernel %s, %ld cpus, load %.2f %.2f %.2f, %d rounds, batch ~%.0f ms\n", u.release,
                sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], rounds, batch_ms);

    std::vector<method> ms;
    ms.push_back({"raw fork() + _exit(0) + waitpid", [](int n) { return timed(n, raw_fork_wait); }});
    ms.push_back({"brood::fork([]{}).wait()", [](int n) { return timed(n, brood_fork_wait); }});
    ms.push_back({"raw fork() + pidfd_open + waitid(P_PIDFD)", [](int n) { return timed(n, raw_fork_pidfd_wait); }});

    for (auto& m : ms) {
        m.batch(3);
        m.n = std::clamp(static_cast<int>(batch_ms * 1000.0 / std::max(m.batch(5), 1.0)), 3, 5000);
    }
    for (int r = 0; r < rounds; ++r)
        for (std::size_t k = 0; k < ms.size(); ++k) {
            method& m = ms[(k + static_cast<std::size_t>(r)) % ms.size()];
            const auto before = minor_faults();
            m.samples.push_back(m.batch(m.n));
            const auto after = minor_faults();
            m.forks += m.n;
            m.parent_faults += after.first - before.first;
            m.child_faults += after.second - before.second;
        }

    const double raw = quantile(ms[0].samples, 0.5);
    std::printf("\n| method | µs/fork+wait (median) | IQR | × raw fork | faults per fork: parent, child | n × rounds |\n"
                "|---|---:|---:|---:|---:|---:|\n");
    for (auto& m : ms) {
        double med = quantile(m.samples, 0.5);
        const double forks = static_cast<double>(m.forks);
        std::printf("| %s | %.1f | %.1f–%.1f | %.3f | %.1f, %.1f | %d × %zu |\n", m.name.c_str(), med,
                    quantile(m.samples, 0.25), quantile(m.samples, 0.75), med / raw,
                    static_cast<double>(m.parent_faults) / forks, static_cast<double>(m.child_faults) / forks, m.n,
                    m.samples.size());
    }
    double ratio = quantile(ms[1].samples, 0.5) / raw;
    bool met = ratio <= 1.10;
    std::printf("\ngoal %-60s %.3f  %s\n", "brood::fork ÷ raw fork+_exit+waitpid <= 1.10", ratio, met ? "MET" : "NOT MET");
    getloadavg(load, 3);
    std::printf("\nload at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return met ? 0 : 3;
}
