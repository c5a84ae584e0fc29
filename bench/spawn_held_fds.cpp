// spawn_held_fds: does spawn cost grow with the fds the parent holds? A clone copies the parent's
// fd table unless it shares it; a child that closes what it is not given then frees that copy.
//
//   spawn_held_fds [--rounds R] [--batch-ms MS] [--held N,N,...] [program]
//
// For each count of held fds (default 0, 1000 and 5000: close-on-exec copies of /dev/null, opened
// before and closed after that count's batches), spawns+waits the program (default: the static
// no-op) with, in an order rotated every round:
//   floor                              bench/spawn_floor.c: raw clone3(CLONE_VM|CLONE_VFORK), execve
//   brood::command                     the program with this process's stdio, every other fd closed
//   brood::command, stdin /dev/null    the same with stdio::null() as stdin (opened by the child)
//   brood::spawner                     the same command through a helper made before any fd is held
//   glibc posix_spawn + closefrom(3)   glibc's own vfork-style clone and close_range
// A batch is about --batch-ms of one method. Reports, per method and count, the median over rounds
// of the batch's wall time and CPU time per spawn (this process, its children and the spawner's
// helper), and each method's figures at the largest count ÷ at 0.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/command.hpp>
#include <brood/spawner.hpp>

#include "measure.hpp"

extern "C" int floor_spawn_wait(const char* path, char* const argv[], char* const envp[]);
extern char** environ;

namespace {

using brood_bench::die;
using brood_bench::quantile;

// CPU time in µs of this process and its reaped children, plus the helper's (its schedstat).
double cpu_us(pid_t helper) {
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    double total = us(self.ru_utime) + us(self.ru_stime) + us(children.ru_utime) + us(children.ru_stime);
    if (helper > 0) {
        std::ifstream stat("/proc/" + std::to_string(helper) + "/schedstat");
        double ns = 0;
        if (stat >> ns) total += ns / 1000.0;
    }
    return total;
}

struct method {
    method(std::string name_, std::function<void()> spawn_wait_) : name(std::move(name_)), spawn_wait(std::move(spawn_wait_)) {}
    std::string name;
    std::function<void()> spawn_wait;
    int n = 0;
    std::vector<std::vector<double>> wall, cpu;  // [count index][round]
};

}  // namespace

int main(int argc, char** argv) {
    int rounds = 9;
    double batch_ms = 40;
    std::vector<std::size_t> held = {0, 1000, 5000};
    std::string program = BENCH_NOOP_PATH;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--batch-ms" && i + 1 < argc) batch_ms = std::atof(argv[++i]);
        else if (a == "--held" && i + 1 < argc) held = brood_bench::parse_sizes(argv[++i]);
        else if (!a.empty() && a[0] != '-') program = a;
        else die("usage: spawn_held_fds [--rounds R] [--batch-ms MS] [--held N,N,...] [program]");
    }
    if (rounds < 3 || rounds > 200 || !(batch_ms >= 1 && batch_ms <= 2000) || held.empty())
        die("--rounds 3..200, --batch-ms 1..2000, --held one count or more");
    std::sort(held.begin(), held.end());

    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    if (lim.rlim_max < held.back() + 64 || setrlimit(RLIMIT_NOFILE, &lim) != 0)
        die("RLIMIT_NOFILE cannot hold " + std::to_string(held.back()) + " fds");

    brood::spawner helper;  // before any fd is held, as a program makes it early
    utsname u{};
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("spawn_held_fds: kernel %s, %ld cpus, load %.2f %.2f %.2f, %d rounds, batch ~%.0f ms, %s\n",
                u.release, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], rounds, batch_ms,
                program.c_str());

    char* child_argv[] = {program.data(), nullptr};
    const brood::command cmd(program);
    auto check = [](const brood::wait_status& st, const char* who) {
        if (!st.success()) die(std::string(who) + ": " + st.to_string());
    };
    std::vector<method> ms;
    ms.push_back({"floor (raw clone3 VM|VFORK + execve)", [&] {
                      if (floor_spawn_wait(program.c_str(), child_argv, environ) != 0) die("floor failed");
                  }});
    ms.push_back({"brood::command", [&] { check(cmd.spawn().wait(), "brood::command"); }});
    const brood::command quiet = brood::command(program).set_stdin(brood::stdio::null());
    ms.push_back({"brood::command, stdin /dev/null", [&] { check(quiet.spawn().wait(), "brood::command"); }});
    ms.push_back({"brood::spawner", [&] { check(helper.spawn(cmd).wait(), "brood::spawner"); }});
    ms.push_back({"glibc posix_spawn + closefrom(3)", [&] {
                      posix_spawn_file_actions_t fa;
                      posix_spawn_file_actions_init(&fa);
                      posix_spawn_file_actions_addclosefrom_np(&fa, 3);
                      pid_t pid;
                      const int err = posix_spawn(&pid, program.c_str(), &fa, nullptr, child_argv, environ);
                      posix_spawn_file_actions_destroy(&fa);
                      int status = 0;
                      if (err != 0 || waitpid(pid, &status, 0) != pid || status != 0) die("posix_spawn failed");
                  }});
    for (auto& m : ms) {
        m.wall.resize(held.size());
        m.cpu.resize(held.size());
    }

    std::vector<int> fds;
    auto hold = [&](std::size_t count) {
        if (count == 0) return;
        const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0) die(std::string("open /dev/null: ") + std::strerror(errno));
        fds.push_back(null);
        while (fds.size() < count)
            if (const int fd = fcntl(null, F_DUPFD_CLOEXEC, 0); fd >= 0) fds.push_back(fd);
            else die(std::string("F_DUPFD_CLOEXEC: ") + std::strerror(errno));
    };
    auto release = [&] {
        for (const int fd : fds) close(fd);
        fds.clear();
    };
    // Batch sizes, chosen once with no fd held: the same number of spawns at every count.
    for (auto& m : ms) {
        m.spawn_wait();
        const double us = brood_bench::timed(3, m.spawn_wait);
        m.n = std::clamp(static_cast<int>(batch_ms * 1000.0 / std::max(us, 1.0)), 3, 2000);
    }
    for (int r = 0; r < rounds; ++r)
        for (std::size_t c = 0; c < held.size(); ++c) {
            hold(held[c]);
            for (std::size_t k = 0; k < ms.size(); ++k) {
                method& m = ms[(k + static_cast<std::size_t>(r)) % ms.size()];
                const pid_t helper_pid = m.name == "brood::spawner" ? helper.pid() : 0;
                const double cpu0 = cpu_us(helper_pid);
                m.wall[c].push_back(brood_bench::timed(m.n, m.spawn_wait));
                m.cpu[c].push_back((cpu_us(helper_pid) - cpu0) / m.n);
            }
            release();
        }

    std::printf("\n| method | fds held | µs/spawn+wait (median) | IQR | CPU µs/spawn (median) | n × rounds |\n"
                "|---|---:|---:|---:|---:|---:|\n");
    for (auto& m : ms)
        for (std::size_t c = 0; c < held.size(); ++c)
            std::printf("| %s | %zu | %.1f | %.1f–%.1f | %.1f | %d × %d |\n", m.name.c_str(), held[c],
                        quantile(m.wall[c], 0.5), quantile(m.wall[c], 0.25), quantile(m.wall[c], 0.75),
                        quantile(m.cpu[c], 0.5), m.n, rounds);
    std::printf("\n");
    const std::size_t top = held.size() - 1;
    for (auto& m : ms)
        std::printf("%-38s at %zu fds ÷ at %zu: wall %.2f, CPU %.2f\n", m.name.c_str(), held[top], held[0],
                    quantile(m.wall[top], 0.5) / quantile(m.wall[0], 0.5),
                    quantile(m.cpu[top], 0.5) / quantile(m.cpu[0], 0.5));
    getloadavg(load, 3);
    std::printf("\nload at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}
