// brood run side by side with tini, tini-static, dumb-init and catatonit, in one run:
//
//   idle      resident memory of each init while its program sleeps (VmRSS once settled, its peak
//             over 3 s of idling, and VmHWM, the peak since exec, start-up included), and how often
//             it wakes up when nothing happens
//   startup   wall time of INIT /bin/true, many runs interleaved in rounds, against /bin/true run
//             directly: median, and the ratio to the direct run
//   storm     INIT cli_zombie_storm N as PID 1 of a PID namespace: N orphaned zombies at once; the
//             time until the init has reaped them all, and how many are left (must be 0)
//   behaviour exit code of a program killed by SIGTERM, of a missing or non-executable program,
//             and whether a process the program left behind is still there after the init exits
//
// Prints Markdown tables, with the machine and its load, for docs/benchmarks.md.
//
//   init_compare [--runs N] [--rounds N] [--storm N] [--storm-trials N] [--brood PATH]
//                [--brood-before PATH] [--sections idle,startup,storm,behaviour] [--inits brood,tini,...]
// --brood-before adds another brood (an earlier build) beside the first, in the same rounds.
// --inits keeps the inits whose names start with one of the words (brood, tini, tini-static,
// dumb-init, catatonit); --sections runs only those parts, as for a longer storm of two inits.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/brood.hpp>

#include "measure.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using brood_bench::median;
using brood_bench::split_list;
using brood_bench::status_field;

struct init_under_test {
    std::string name;
    std::vector<std::string> prefix;  // the init and its options; the program follows
};

struct settings {
    int runs = 20;     // per method per round
    int rounds = 30;
    long storm = 10000;
    int storm_trials = 5;
    int idle_trials = 3;
    std::string brood = BENCH_BROOD_PATH;
    std::string brood_before;  // empty: none
    std::string helpers = BENCH_INIT_HELPERS;
    std::vector<std::string> sections = {"idle", "startup", "storm", "behaviour"};
    std::vector<std::string> inits;  // empty: every init found
};

bool listed(const std::vector<std::string>& list, const std::string& word) {
    return std::find(list.begin(), list.end(), word) != list.end();
}

// Whether an init's name ("tini-static -s") is the word or starts with it and a space.
bool chosen(const settings& s, const std::string& name) {
    if (s.inits.empty()) return true;
    return std::any_of(s.inits.begin(), s.inits.end(), [&](const std::string& w) {
        return name == w || name.rfind(w + " ", 0) == 0;
    });
}

bool in_path(const std::string& program) {
    if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
    std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    for (std::string dir; std::getline(path, dir, ':');)
        if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

std::vector<std::string> command_line(const init_under_test& init, std::vector<std::string> program) {
    std::vector<std::string> argv = init.prefix;
    argv.insert(argv.end(), program.begin(), program.end());
    return argv;
}

// posix_spawnp with stdout and stderr to /dev/null: the same cheap path for every init.
pid_t spawn_quiet(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
        std::fprintf(stderr, "init_compare: cannot spawn %s: %s\n", args[0], std::strerror(error));
        std::exit(1);
    }
    return pid;
}

int wait_code(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Reaps whatever the driver (a subreaper) was handed.
void reap_strays() {
    for (pid_t kid : brood::proc::children_of(::getpid())) {
        ::kill(kid, SIGKILL);
        ::waitpid(kid, nullptr, 0);
    }
}

// ---------------------------------------------------------------------------------------------

void machine(const settings& s) {
    utsname u{};
    ::uname(&u);
    double load[3] = {};
    ::getloadavg(load, 3);
    std::printf("Machine: Linux %s, %ld CPUs, load average %.2f %.2f %.2f at the start.\n", u.release,
                ::sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
    std::printf("Settings: --runs %d --rounds %d --storm %ld --storm-trials %d; brood: %s\n\n", s.runs, s.rounds,
                s.storm, s.storm_trials, s.brood.c_str());
}

struct idle_figures {
    double rss_kib, idle_peak_kib, hwm_kib, anon_kib, file_kib, wakeups_per_s;
};

idle_figures idle(const init_under_test& init, const settings& s) {
    std::vector<double> rss, idle_peak, hwm, anon, file, wakeups;
    for (int trial = 0; trial < s.idle_trials; ++trial) {
        const pid_t pid = spawn_quiet(command_line(init, {"sleep", "60"}));
        // Wait for the program to be running (polling: a benchmark, not a test).
        const auto until = steady::now() + 10s;
        for (;;) {
            const auto kids = brood::proc::children_of(pid);
            if (!kids.empty()) {
                const auto info = brood::proc::read_process(kids.front());
                if (info && info->comm == "sleep") break;
            }
            if (steady::now() > until) break;
            std::this_thread::sleep_for(1ms);
        }
        std::this_thread::sleep_for(300ms);  // settled: nothing happens from now on
        rss.push_back(static_cast<double>(status_field("VmRSS", pid)));
        hwm.push_back(static_cast<double>(status_field("VmHWM", pid)));
        anon.push_back(static_cast<double>(status_field("RssAnon", pid)));
        file.push_back(static_cast<double>(status_field("RssFile", pid)));
        const long before = status_field("voluntary_ctxt_switches", pid) + status_field("nonvoluntary_ctxt_switches", pid);
        long peak = 0;  // reading /proc/PID/status does not wake the init
        for (int i = 0; i < 30; ++i) {
            peak = std::max(peak, status_field("VmRSS", pid));
            std::this_thread::sleep_for(100ms);
        }
        idle_peak.push_back(static_cast<double>(peak));
        const long after = status_field("voluntary_ctxt_switches", pid) + status_field("nonvoluntary_ctxt_switches", pid);
        wakeups.push_back(static_cast<double>(after - before) / 3.0);
        ::kill(pid, SIGTERM);  // forwarded to sleep, which ends, and so does the init
        wait_code(pid);
        reap_strays();
    }
    return {median(rss), median(idle_peak), median(hwm), median(anon), median(file), median(wakeups)};
}

// Median wall time of each method (µs), runs interleaved in rounds so that load drifts hit all alike.
// Each round starts one method further on, so that each takes every place in the order equally
// often: with a fixed order whichever brood build ran second (right after /bin/true) measured 3
// to 22 µs slower than the one run third (docs/benchmarks.md).
std::vector<double> startup(const std::vector<init_under_test>& methods, const settings& s) {
    std::vector<std::vector<double>> samples(methods.size());
    for (int round = 0; round < s.rounds; ++round) {
        for (std::size_t place = 0; place < methods.size(); ++place) {
            const std::size_t m = (place + static_cast<std::size_t>(round)) % methods.size();
            const auto argv = command_line(methods[m], {"/bin/true"});
            for (int run = 0; run < s.runs; ++run) {
                const auto start = steady::now();
                const int code = wait_code(spawn_quiet(argv));
                samples[m].push_back(std::chrono::duration<double, std::micro>(steady::now() - start).count());
                if (code != 0) std::fprintf(stderr, "init_compare: %s /bin/true exited %d\n", methods[m].name.c_str(), code);
            }
        }
    }
    std::vector<double> medians;
    for (auto& v : samples) medians.push_back(median(v));
    return medians;
}

struct storm_figures {
    std::vector<double> reap_ms, spawn_ms;
    long left = 0;
    bool failed = false;
};

// One storm as PID 1 of a fresh PID namespace; false (and a message) when it could not run.
bool storm_once(const init_under_test& init, const settings& s, storm_figures& f) {
    std::vector<std::string> argv = {"--pid", "--fork", "--mount-proc"};
    for (const auto& a : command_line(init, {s.helpers + "/cli_zombie_storm", std::to_string(s.storm)})) argv.push_back(a);
    const auto r = brood::command("unshare").args(argv).output();
    double reap_ms = 0, spawn_ms = 0;
    long zombies = 0, remaining = -1;
    if (std::sscanf(r.out.c_str(), "zombies=%ld spawn_ms=%lf reap_ms=%lf left=%ld", &zombies, &spawn_ms, &reap_ms,
                    &remaining) != 4) {
        std::fprintf(stderr, "init_compare: storm under %s: %s %s%s\n", init.name.c_str(), r.status.to_string().c_str(),
                     r.out.c_str(), r.err.c_str());
        return false;
    }
    f.reap_ms.push_back(reap_ms);
    f.spawn_ms.push_back(spawn_ms);
    f.left = std::max(f.left, remaining);
    return true;
}

// Trials interleaved across the inits, as the start-up runs are, so that load drifts hit all alike.
std::vector<storm_figures> storms(const std::vector<init_under_test>& inits, const settings& s) {
    std::vector<storm_figures> figures(inits.size());
    for (int trial = 0; trial < s.storm_trials; ++trial)
        for (std::size_t i = 0; i < inits.size(); ++i)
            if (!figures[i].failed) figures[i].failed = !storm_once(inits[i], s, figures[i]);
    return figures;
}

struct behaviour {
    int killed_by_term = -1, not_found = -1, not_executable = -1;
    std::size_t left_behind = 0;
};

behaviour check(const init_under_test& init, const settings& s) {
    behaviour b;
    b.killed_by_term = wait_code(spawn_quiet(command_line(init, {s.helpers + "/cli_raise", "15"})));
    b.not_found = wait_code(spawn_quiet(command_line(init, {"/no/such/program"})));
    b.not_executable = wait_code(spawn_quiet(command_line(init, {"/etc/passwd"})));
    // The program leaves a child behind (default SIGTERM action) and exits: once the init has
    // exited, whatever it did not end has been handed to this driver, a subreaper.
    wait_code(spawn_quiet(command_line(init, {s.helpers + "/cli_leave_behind", "default", "0"})));
    b.left_behind = brood::proc::children_of(::getpid()).size();
    reap_strays();
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--runs") s.runs = std::atoi(argv[i + 1]);
        else if (flag == "--rounds") s.rounds = std::atoi(argv[i + 1]);
        else if (flag == "--storm") s.storm = std::atol(argv[i + 1]);
        else if (flag == "--storm-trials") s.storm_trials = std::atoi(argv[i + 1]);
        else if (flag == "--brood") s.brood = argv[i + 1];
        else if (flag == "--brood-before") s.brood_before = argv[i + 1];
        else if (flag == "--sections") s.sections = split_list(argv[i + 1]);
        else if (flag == "--inits") s.inits = split_list(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: init_compare [--runs N] [--rounds N] [--storm N] [--storm-trials N] [--brood PATH]"
                                 " [--brood-before PATH] [--sections idle,startup,storm,behaviour] [--inits brood,tini,...]\n");
            return 2;
        }
    }
    // Strays of the behaviour checks come here, not to the machine's init.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    std::vector<init_under_test> candidates = {{"brood run", {s.brood, "run", "--"}},
                                               {"tini -s", {"tini", "-s", "--"}},
                                               {"tini-static -s", {"tini-static", "-s", "--"}},
                                               {"dumb-init", {"dumb-init"}},
                                               {"catatonit", {"catatonit", "--"}}};
    if (!s.brood_before.empty())
        candidates.insert(candidates.begin() + 1, {"brood run, before", {s.brood_before, "run", "--"}});
    std::vector<init_under_test> inits;
    for (const init_under_test& candidate : candidates) {
        if (!chosen(s, candidate.name)) continue;
        if (in_path(candidate.prefix.front())) inits.push_back(candidate);
        else std::fprintf(stderr, "init_compare: %s not found, left out\n", candidate.prefix.front().c_str());
    }
    machine(s);

    if (listed(s.sections, "idle")) {
        std::printf("### Idle: memory and wake-ups while the program sleeps (median of %d)\n\n", s.idle_trials);
        std::printf("| init | VmRSS KiB | peak while idle KiB | RssAnon KiB | RssFile KiB | VmHWM since exec KiB | "
                    "wake-ups/s idle |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (const auto& init : inits) {
            const idle_figures f = idle(init, s);
            std::printf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |\n", init.name.c_str(), f.rss_kib, f.idle_peak_kib,
                        f.anon_kib, f.file_kib, f.hwm_kib, f.wakeups_per_s);
            std::fflush(stdout);
        }
    }

    if (listed(s.sections, "startup")) {
        std::printf("\n### Start-up: INIT /bin/true, %d runs each (median)\n\n", s.runs * s.rounds);
        std::vector<init_under_test> methods = {{"/bin/true directly", {}}};
        methods.insert(methods.end(), inits.begin(), inits.end());
        const std::vector<double> medians = startup(methods, s);
        std::printf("| method | median µs | ratio to /bin/true | overhead µs |\n|---|---:|---:|---:|\n");
        for (std::size_t m = 0; m < methods.size(); ++m)
            std::printf("| %s | %.0f | %.2f | %.0f |\n", methods[m].name.c_str(), medians[m], medians[m] / medians[0],
                        medians[m] - medians[0]);
        std::fflush(stdout);
    }

    if (listed(s.sections, "storm")) {
        std::printf("\n### Reaping storm: %ld orphaned zombies at once, init as PID 1 (%d trials each, interleaved)\n\n",
                    s.storm, s.storm_trials);
        std::printf("| init | reaped all in ms (median) | min | max | zombies left | (forking them took ms) |\n"
                    "|---|---:|---:|---:|---:|---:|\n");
        const std::vector<storm_figures> storm = storms(inits, s);
        for (std::size_t i = 0; i < inits.size(); ++i) {
            const storm_figures& f = storm[i];
            if (f.failed || f.reap_ms.empty()) {
                std::printf("| %s | failed (see stderr) | | | | |\n", inits[i].name.c_str());
                continue;
            }
            std::printf("| %s | %.1f | %.1f | %.1f | %ld | %.0f |\n", inits[i].name.c_str(), median(f.reap_ms),
                        *std::min_element(f.reap_ms.begin(), f.reap_ms.end()),
                        *std::max_element(f.reap_ms.begin(), f.reap_ms.end()), f.left, median(f.spawn_ms));
        }
        std::fflush(stdout);
    }

    if (listed(s.sections, "behaviour")) {
        std::printf("\n### Behaviour (not PID 1)\n\n");
        std::printf("| init | program killed by SIGTERM | program not found | not executable | processes left behind |\n"
                    "|---|---:|---:|---:|---:|\n");
        for (const auto& init : inits) {
            const behaviour b = check(init, s);
            std::printf("| %s | %d | %d | %d | %zu |\n", init.name.c_str(), b.killed_by_term, b.not_found, b.not_executable,
                        b.left_behind);
        }
    }
    double load[3] = {};
    ::getloadavg(load, 3);
    std::printf("\nLoad average at the end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}
