// fd_limit: does spawn cost grow with RLIMIT_NOFILE? brood closes the child's unwanted fds with
// close_range, whose cost follows the fd table actually in use, not the limit.
//
//   fd_limit [--rounds R] [--batch-ms MS] [--high N] [program]
//
// Raises the hard RLIMIT_NOFILE to --high (default 1,048,576; needs CAP_SYS_RESOURCE, else it measures
// up to the hard limit it has and says so) and then, interleaved in rounds, sets the soft limit before
// each batch to 1024, the soft limit the process started with, or --high, and spawns+waits the
// program (default: the static no-op) with:
//   brood::command                        every fd but 0-2 closed by brood (close_range)
//   glibc posix_spawn + addclosefrom_np(3) glibc's closefrom file action (close_range as well)
//   naive: vfork, close(fd) for 3..limit   what a spawner without close_range pays (context)
// Reports the median of the batch means, and each figure ÷ the same method's at the starting limit.
#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/command.hpp>

#include "measure.hpp"

extern "C" int naive_close_exec_wait(const char* path, char* const argv[], char* const envp[]);
extern char** environ;

namespace {

using brood_bench::die;
using brood_bench::timed;
using brood_bench::quantile;

using clock_type = std::chrono::steady_clock;

void set_soft_limit(rlim_t soft, rlim_t hard) {
    rlimit lim{soft, hard};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        die("setrlimit(RLIMIT_NOFILE, " + std::to_string(soft) + ", " + std::to_string(hard) + "): " + std::strerror(errno));
}

int wait_pid(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

struct method {
    method(std::string name_, rlim_t soft_, std::function<void()> spawn_wait_)
        : name(std::move(name_)), soft(soft_), spawn_wait(std::move(spawn_wait_)) {}
    std::string name;
    rlim_t soft;  // the soft RLIMIT_NOFILE set before each batch
    std::function<void()> spawn_wait;
    int n = 0;
    std::vector<double> samples;
};

}  // namespace

int main(int argc, char** argv) {
    int rounds = 9;
    double batch_ms = 40;
    rlim_t high = 1048576;
    std::string program = BENCH_NOOP_PATH;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--batch-ms" && i + 1 < argc) batch_ms = std::atof(argv[++i]);
        else if (a == "--high" && i + 1 < argc) high = std::strtoull(argv[++i], nullptr, 10);
        else if (!a.empty() && a[0] != '-') program = a;
        else die("usage: fd_limit [--rounds R] [--batch-ms MS] [--high N] [program]");
    }
    if (rounds < 3 || rounds > 200 || !(batch_ms >= 1 && batch_ms <= 2000) || high < 64)
        die("--rounds 3..200, --batch-ms 1..2000, --high >= 64");

    rlimit start{};
    getrlimit(RLIMIT_NOFILE, &start);
    // Raising the hard limit needs CAP_SYS_RESOURCE. Without it, measure up to the hard limit we have.
    rlim_t hard = std::max<rlim_t>(start.rlim_max, high);
    std::string cap_note;
    {
        rlimit want{start.rlim_cur, hard};
        if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
            cap_note = "cannot raise the hard RLIMIT_NOFILE to " + std::to_string(high) + ": " + std::strerror(errno) +
                       " (needs CAP_SYS_RESOURCE); measuring up to the hard limit " +
                       std::to_string(start.rlim_max) + " instead";
            hard = start.rlim_max;
        }
    }
    const bool reached_high = hard >= high;
    const rlim_t top = std::min(hard, high);
    std::vector<rlim_t> limits = {std::min<rlim_t>(1024, top), start.rlim_cur, top};
    std::sort(limits.begin(), limits.end());
    limits.erase(std::unique(limits.begin(), limits.end()), limits.end());

    utsname u{};
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("fd_limit: kernel %s, %ld cpus, load %.2f %.2f %.2f, %d rounds, batch ~%.0f ms, %s\n", u.release,
                sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], rounds, batch_ms, program.c_str());
    std::printf("RLIMIT_NOFILE at start: soft %llu hard %llu\n", static_cast<unsigned long long>(start.rlim_cur),
                static_cast<unsigned long long>(start.rlim_max));
    if (!cap_note.empty()) std::printf("NOTE: %s\n", cap_note.c_str());

    char* child_argv[] = {program.data(), nullptr};
    const char* path = program.c_str();
    auto brood_spawn = [&] {
        brood::wait_status st = brood::command(program).spawn().wait();
        if (!st.success()) die("brood: " + st.to_string());
    };
    auto closefrom_spawn = [&] {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        pid_t pid;
        int err = posix_spawn(&pid, path, &fa, nullptr, child_argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (err != 0 || wait_pid(pid) != 0) die("posix_spawn failed");
    };
    auto naive_spawn = [&] {
        if (naive_close_exec_wait(path, child_argv, environ) != 0) die("naive spawn failed");
    };
    auto limit_name = [](rlim_t l) { return std::to_string(static_cast<unsigned long long>(l)); };

    const char* kinds[] = {"brood::command", "glibc posix_spawn + closefrom(3)", "naive vfork + close(3..limit)"};
    const std::function<void()> spawners[] = {brood_spawn, closefrom_spawn, naive_spawn};
    constexpr std::size_t kind_count = 3;
    std::vector<method> ms;  // ms[limit_index * kind_count + kind]
    for (rlim_t soft : limits)
        for (std::size_t k = 0; k < kind_count; ++k)
            ms.push_back({std::string(kinds[k]) + ", RLIMIT_NOFILE " + limit_name(soft), soft, spawners[k]});
    auto batch = [&](method& m, int n) {
        set_soft_limit(m.soft, hard);
        return timed(n, m.spawn_wait);
    };
    for (auto& m : ms) {
        batch(m, 1);
        m.n = std::clamp(static_cast<int>(batch_ms * 1000.0 / std::max(batch(m, 2), 1.0)), 2, 2000);
    }
    for (int r = 0; r < rounds; ++r)
        for (std::size_t k = 0; k < ms.size(); ++k) {
            method& m = ms[(k + static_cast<std::size_t>(r)) % ms.size()];
            m.samples.push_back(batch(m, m.n));
        }
    set_soft_limit(start.rlim_cur, start.rlim_max);

    std::printf("\n| method | µs/spawn+wait (median) | IQR | n × rounds |\n|---|---:|---:|---:|\n");
    for (auto& m : ms)
        std::printf("| %s | %.1f | %.1f–%.1f | %d × %zu |\n", m.name.c_str(), quantile(m.samples, 0.5),
                    quantile(m.samples, 0.25), quantile(m.samples, 0.75), m.n, m.samples.size());

    auto median_at = [&](std::size_t limit_index, std::size_t kind) {
        return quantile(ms[limit_index * kind_count + kind].samples, 0.5);
    };
    const std::size_t default_index =
        static_cast<std::size_t>(std::find(limits.begin(), limits.end(), start.rlim_cur) - limits.begin());
    const std::size_t top_index = limits.size() - 1;
    std::printf("\n");
    for (std::size_t k = 0; k < kind_count; ++k)
        for (std::size_t l = 0; l < limits.size(); ++l) {
            if (l == default_index) continue;
            std::printf("%-34s at %7s ÷ at the starting %s: %.3f\n", kinds[k], limit_name(limits[l]).c_str(),
                        limit_name(start.rlim_cur).c_str(), median_at(l, k) / median_at(default_index, k));
        }

    // Flat means: brood at the highest limit measured costs what it costs at the lowest.
    double ratio = median_at(top_index, 0) / median_at(0, 0);
    bool met = ratio <= 1.10;
    std::string text = "brood spawn at RLIMIT_NOFILE " + limit_name(limits[top_index]) + " ÷ at " +
                       limit_name(limits[0]) + " <= 1.10";
    std::printf("\ngoal %-58s %.3f  %s\n", text.c_str(), ratio, met ? "MET" : "NOT MET");
    if (!reached_high) {
        std::printf("goal brood spawn at RLIMIT_NOFILE %s: NOT MEASURED (%s)\n", limit_name(high).c_str(),
                    cap_note.c_str());
        met = false;
    }
    getloadavg(load, 3);
    std::printf("\nload at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return met ? 0 : 3;
}
