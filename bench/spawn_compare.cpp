// spawn_compare: spawn+wait of a no-op program, every method side by side in one run.
//
//   spawn_compare [--rounds R] [--batch-ms MS] [--python PY]... [--no-python] [program...]
//
// Methods: the floor (bench/spawn_floor.c: raw clone3 CLONE_VM|CLONE_VFORK|CLONE_PIDFD + execve +
// waitid), brood::command (built per spawn, and built once and reused), glibc posix_spawn,
// fork+execve, vfork+execve, Boost.Process v2 (default launcher) and, through bench/spawn_python.py
// running as a helper process, Python's subprocess.run and os.posix_spawn (one helper per --python;
// default /usr/bin/python3).
//
// Each round runs one batch of every method, in an order rotated every round, so slow drifts of the
// machine (frequency, other load) hit all methods alike. A batch is n spawn+wait of one method, n
// chosen once per method so that a batch takes about --batch-ms. The figure reported for a method is
// the median over rounds of its batch mean (µs per spawn+wait), with the interquartile range.
// Programs default to the static no-op (bench/noop_static.c) and /bin/true.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/command.hpp>

#ifdef BENCH_HAVE_BOOST_PROCESS
// Boost 1.81: these two first, and std::filesystem, keep Boost.Process v2 header-only (no
// Boost.Filesystem to link). Its vfork launcher crashes; the default (fork) launcher is used.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#define BOOST_PROCESS_V2_HEADER_ONLY 1
#define BOOST_PROCESS_USE_STD_FS 1
#include <boost/asio/io_context.hpp>
#include <boost/process/v2/process.hpp>
#endif

#include "measure.hpp"
#include "spawn_python_helper.hpp"

extern "C" {
int floor_spawn_wait(const char* path, char* const argv[], char* const envp[]);
int raw_posix_spawn_wait(const char* path, char* const argv[], char* const envp[]);
int raw_fork_exec_wait(const char* path, char* const argv[], char* const envp[]);
int raw_vfork_exec_wait(const char* path, char* const argv[], char* const envp[]);
}
extern char** environ;

#ifndef BENCH_PYTHON_SCRIPT
#define BENCH_PYTHON_SCRIPT "spawn_python.py"
#endif

namespace {

using brood_bench::die;
using brood_bench::python_helper;
using brood_bench::timed;
using brood_bench::quantile;

using clock_type = std::chrono::steady_clock;

void check(int rc, const char* method, const char* program) {
    if (rc != 0) die(std::string(method) + ": " + program + " ended with " + std::to_string(rc) +
                     (rc < 0 ? std::string(" (") + std::strerror(errno) + ")" : std::string()));
}

struct method {
    method(std::string label_, std::string name_, std::function<double(int n)> batch_)
        : label(std::move(label_)), name(std::move(name_)), batch(std::move(batch_)) {}
    std::string label;  // short, for the goals
    std::string name;   // what exactly is timed, for the table
    std::function<double(int n)> batch;  // runs n spawn+wait, returns µs per spawn+wait
    int n = 0;
    std::vector<double> samples;
    double median = 0, p25 = 0, p75 = 0;
};

struct options {
    int rounds = 15;
    double batch_ms = 40;
    std::vector<std::string> pythons;
    bool use_python = true;
    std::vector<std::string> programs;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--rounds") o.rounds = std::atoi(value().c_str());
        else if (a == "--batch-ms") o.batch_ms = std::atof(value().c_str());
        else if (a == "--python") o.pythons.push_back(value());
        else if (a == "--no-python") o.use_python = false;
        else if (a == "-h" || a == "--help") {
            std::puts("usage: spawn_compare [--rounds R] [--batch-ms MS] [--python PY]... [--no-python] [program...]");
            std::exit(0);
        } else if (!a.empty() && a[0] == '-') die("unknown option " + a);
        else o.programs.push_back(a);
    }
    if (o.rounds < 3 || o.rounds > 200) die("--rounds must be 3..200");
    if (!(o.batch_ms >= 1 && o.batch_ms <= 2000)) die("--batch-ms must be 1..2000");
    if (o.programs.empty()) o.programs = {BENCH_NOOP_PATH, "/bin/true"};
    if (o.pythons.empty()) o.pythons = {"/usr/bin/python3"};
    if (!o.use_python) o.pythons.clear();
    return o;
}

// Runs every method once to warm up and size its batch, then the interleaved rounds.
void run_rounds(std::vector<method>& methods, const options& o) {
    for (auto& m : methods) {
        m.batch(3);
        double est = m.batch(5);
        m.n = std::clamp(static_cast<int>(o.batch_ms * 1000.0 / std::max(est, 1.0)), 3, 2000);
    }
    const std::size_t count = methods.size();
    for (int r = 0; r < o.rounds; ++r) {
        for (std::size_t k = 0; k < count; ++k) {
            method& m = methods[(k + static_cast<std::size_t>(r)) % count];
            m.samples.push_back(m.batch(m.n));
        }
    }
    for (auto& m : methods) {
        m.median = quantile(m.samples, 0.5);
        m.p25 = quantile(m.samples, 0.25);
        m.p75 = quantile(m.samples, 0.75);
    }
}

const method& find(const std::vector<method>& ms, const std::string& label) {
    for (auto& m : ms)
        if (m.label == label) return m;
    die("no method " + label);
}

bool has(const std::vector<method>& ms, const std::string& prefix) {
    for (auto& m : ms)
        if (m.label.rfind(prefix, 0) == 0) return true;
    return false;
}

int report(const std::string& program, const std::vector<method>& ms) {
    const method& floor = find(ms, "floor");
    const method& brood = find(ms, "brood");
    std::printf("\n### %s\n\n", program.c_str());
    std::printf("| method | µs/spawn+wait (median) | IQR | × floor | brood ÷ method | n × rounds |\n");
    std::printf("|---|---:|---:|---:|---:|---:|\n");
    for (auto& m : ms) {
        std::printf("| %s | %.1f | %.1f–%.1f | %.3f | %.3f | %d × %zu |\n", m.name.c_str(), m.median, m.p25,
                    m.p75, m.median / floor.median, brood.median / m.median, m.n, m.samples.size());
    }
    int failures = 0;
    auto goal = [&](const std::string& text, double value, bool met) {
        std::printf("goal %-58s %.3f  %s\n", text.c_str(), value, met ? "MET" : "NOT MET");
        failures += met ? 0 : 1;
    };
    std::printf("\n");
    double r = brood.median / floor.median;
    std::string where = " (" + program.substr(program.rfind('/') + 1) + ")";
    goal("brood ÷ floor <= 1.10" + where, r, r <= 1.10);
    const method& ps = find(ms, "glibc posix_spawn");
    goal("brood ÷ glibc posix_spawn < 1" + where, brood.median / ps.median, brood.median < ps.median);
    if (!has(ms, "Boost")) std::printf("goal brood faster than Boost.Process v2: skipped (not built)\n");
    if (!has(ms, "Python")) std::printf("goal brood faster than Python: skipped (--no-python)\n");
    for (auto& p : ms) {
        if (p.label.rfind("Boost", 0) != 0 && p.label.rfind("Python", 0) != 0) continue;
        goal("brood ÷ " + p.label + " < 1" + where, brood.median / p.median, brood.median < p.median);
    }
    return failures;
}

}  // namespace

int main(int argc, char** argv) {
    options o = parse(argc, argv);

    utsname u{};
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("spawn_compare: kernel %s, %ld cpus, load %.2f %.2f %.2f, %d rounds, batch ~%.0f ms\n",
                u.release, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], o.rounds, o.batch_ms);

    std::vector<std::unique_ptr<python_helper>> pys;
    for (const std::string& python : o.pythons) {
        pys.push_back(std::make_unique<python_helper>(python, BENCH_PYTHON_SCRIPT));
        std::printf("python helper: %s: Python %s\n", python.c_str(), pys.back()->version().c_str());
    }
#ifdef BENCH_HAVE_BOOST_PROCESS
    boost::asio::io_context io;
#endif

    int failures = 0;
    for (const std::string& program : o.programs) {
        std::string path = program;
        char* argv_c[] = {path.data(), nullptr};
        const char* p = path.c_str();
        const brood::command reused(path);

        std::vector<method> ms;
        ms.push_back({"floor", "floor: clone3(VM,VFORK,PIDFD) + execve + waitid", [&](int n) {
                          return timed(n, [&] { check(floor_spawn_wait(p, argv_c, environ), "floor", p); });
                      }});
        ms.push_back({"brood", "brood::command(exe).spawn().wait()", [&](int n) {
                          return timed(n, [&] {
                              auto st = brood::command(path).spawn().wait();
                              if (!st.success()) die("brood: " + path + " " + st.to_string());
                          });
                      }});
        ms.push_back({"brood, command reused", "brood: one command, spawn().wait() n times", [&](int n) {
                          return timed(n, [&] {
                              auto st = reused.spawn().wait();
                              if (!st.success()) die("brood: " + path + " " + st.to_string());
                          });
                      }});
        ms.push_back({"glibc posix_spawn", "glibc posix_spawn + waitpid", [&](int n) {
                          return timed(n, [&] { check(raw_posix_spawn_wait(p, argv_c, environ), "posix_spawn", p); });
                      }});
        ms.push_back({"fork+execve", "fork + execve + waitpid", [&](int n) {
                          return timed(n, [&] { check(raw_fork_exec_wait(p, argv_c, environ), "fork", p); });
                      }});
        ms.push_back({"vfork+execve", "vfork + execve + waitpid", [&](int n) {
                          return timed(n, [&] { check(raw_vfork_exec_wait(p, argv_c, environ), "vfork", p); });
                      }});
#ifdef BENCH_HAVE_BOOST_PROCESS
        ms.push_back({"Boost.Process v2", "Boost.Process v2 process(ctx, exe, {}).wait()", [&](int n) {
                          return timed(n, [&] {
                              boost::process::v2::process proc(io, path, std::vector<std::string>{});
                              int rc = proc.wait();
                              if (rc != 0) die("boost: " + path + " exit " + std::to_string(rc));
                          });
                      }});
#endif
        for (auto& py : pys) {
            std::string label = "Python " + py->version();
            python_helper* h = py.get();
            ms.push_back({label + " subprocess.run", label + " subprocess.run([exe])",
                          [h, &path](int n) { return h->run("subprocess.run", n, path); }});
            ms.push_back({label + " os.posix_spawn", label + " os.posix_spawn + os.waitpid",
                          [h, &path](int n) { return h->run("os.posix_spawn", n, path); }});
        }
        run_rounds(ms, o);
        failures += report(path, ms);
    }
    getloadavg(load, 3);
    std::printf("\nload at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return failures == 0 ? 0 : 3;
}
