// spawn_memory: spawn+wait latency while the parent holds 0, 1 and 4 GiB of touched memory.
//
//   spawn_memory [--sizes 0,1,4] [--rounds R] [--batch-ms MS] [--python PY | --no-python]
//                [--data FILE] [program]
//
// For each size the driver maps that much anonymous memory and writes every page, then runs
// interleaved rounds (order rotated every round) of spawn+wait of the program (default: the static
// no-op) by: floor (clone3 VM|VFORK|PIDFD), brood::command, glibc posix_spawn, fork+execve. It then
// frees its memory and starts bench/spawn_python.py --serve --hold-gib <size> (a Python parent
// holding a touched bytearray of the same size) to time Python's subprocess.run: each parent holds
// its memory alone.
// fork copies the parent's page tables, so its cost grows with the memory; the others share the
// parent's memory until exec and should stay flat. Reports medians of the batch means, each
// method's figure ÷ its own 0 GiB figure, and writes FILE (gnuplot data, for
// bench/plot_spawn_memory.gp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/command.hpp>

#include "measure.hpp"
#include "spawn_python_helper.hpp"

extern "C" {
int floor_spawn_wait(const char* path, char* const argv[], char* const envp[]);
int raw_posix_spawn_wait(const char* path, char* const argv[], char* const envp[]);
int raw_fork_exec_wait(const char* path, char* const argv[], char* const envp[]);
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

std::string read_first_line(const char* path) {
    std::ifstream f(path);
    std::string s;
    std::getline(f, s);
    return s;
}

// Anonymous private memory with every page written: what fork has to copy page tables for.
class touched_memory {
public:
    explicit touched_memory(double gib) : size_(static_cast<std::size_t>(gib * (1ull << 30))) {
        if (size_ == 0) return;
        void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) die("mmap " + std::to_string(size_) + " bytes failed");
        base_ = static_cast<volatile char*>(p);
        const long page = sysconf(_SC_PAGESIZE);
        for (std::size_t off = 0; off < size_; off += static_cast<std::size_t>(page)) base_[off] = 1;
    }
    ~touched_memory() {
        if (base_) munmap(const_cast<char*>(base_), size_);
    }
    touched_memory(const touched_memory&) = delete;
    touched_memory& operator=(const touched_memory&) = delete;

private:
    std::size_t size_;
    volatile char* base_ = nullptr;
};

// bench/spawn_python.py --serve --hold-gib G: one request line in, one line (µs per spawn) out.
struct method {
    method(std::string name_, std::string key_, std::function<double(int n)> batch_)
        : name(std::move(name_)), key(std::move(key_)), batch(std::move(batch_)) {}
    std::string name;  // table
    std::string key;   // gnuplot data column
    std::function<double(int n)> batch;  // runs n spawn+wait, returns µs per spawn+wait
    int n = 0;
    std::vector<double> samples;
};

void check(int rc, const char* what) {
    if (rc != 0) die(std::string(what) + ": child ended with " + std::to_string(rc));
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<double> sizes = {0, 1, 4};
    int rounds = 9;
    double batch_ms = 60;
    std::string python = "/usr/bin/python3";
    bool use_python = true;
    std::string data_file;
    std::string program = BENCH_NOOP_PATH;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--sizes") {
            sizes.clear();
            for (const std::string& item : brood_bench::split_list(value())) sizes.push_back(std::atof(item.c_str()));
        } else if (a == "--rounds") rounds = std::atoi(value().c_str());
        else if (a == "--batch-ms") batch_ms = std::atof(value().c_str());
        else if (a == "--python") python = value();
        else if (a == "--no-python") use_python = false;
        else if (a == "--data") data_file = value();
        else if (!a.empty() && a[0] != '-') program = a;
        else die("usage: spawn_memory [--sizes 0,1,4] [--rounds R] [--batch-ms MS] [--python PY | --no-python] "
                 "[--data FILE] [program]");
    }
    if (rounds < 3 || rounds > 200 || !(batch_ms >= 1 && batch_ms <= 5000)) die("--rounds 3..200, --batch-ms 1..5000");
    if (sizes.empty() || sizes.front() != 0) die("--sizes must start with 0 (the reference)");
    for (double s : sizes)
        if (!(s >= 0 && s <= 64)) die("--sizes: 0..64 GiB each");

    utsname u{};
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("spawn_memory: kernel %s, %ld cpus, load %.2f %.2f %.2f, %d rounds, batch ~%.0f ms, %s\n", u.release,
                sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], rounds, batch_ms, program.c_str());
    std::printf("transparent hugepages: %s\n",
                read_first_line("/sys/kernel/mm/transparent_hugepage/enabled").c_str());

    char* child_argv[] = {program.data(), nullptr};
    const char* path = program.c_str();

    struct row {
        double gib;
        std::vector<double> median, p25, p75;
    };
    std::vector<row> rows;
    std::vector<std::string> names, keys;

    // Interleaved rounds, the order rotated every round, after sizing each method's batch.
    auto measure = [&](std::vector<method>& ms) {
        for (auto& m : ms) {
            m.batch(1);
            m.n = std::clamp(static_cast<int>(batch_ms * 1000.0 / std::max(m.batch(2), 1.0)), 3, 2000);
        }
        for (int r = 0; r < rounds; ++r)
            for (std::size_t k = 0; k < ms.size(); ++k) {
                method& m = ms[(k + static_cast<std::size_t>(r)) % ms.size()];
                m.samples.push_back(m.batch(m.n));
            }
    };

    for (double gib : sizes) {
        // Each parent holds its memory alone: the driver while it measures its own methods, then the
        // Python helper. Holding both at once (2 × 4 GiB) slowed every vfork-style method here, the
        // raw clone3 floor included, by 1.3 to 1.8×, which the driver alone does not see.
        std::vector<method> ms;
        {
            auto t0 = clock_type::now();
            touched_memory held(gib);
            std::chrono::duration<double> setup = clock_type::now() - t0;
            std::printf("\n%g GiB: driver RSS %ld MiB (touched in %.1f s)\n", gib, brood_bench::status_field("VmRSS") / 1024, setup.count());
            ms.push_back({"floor: clone3(VM,VFORK,PIDFD) + execve", "floor", [&](int n) {
                              return timed(n, [&] { check(floor_spawn_wait(path, child_argv, environ), "floor"); });
                          }});
            ms.push_back({"brood::command", "brood", [&](int n) {
                              return timed(n, [&] {
                                  brood::wait_status st = brood::command(program).spawn().wait();
                                  if (!st.success()) die("brood: " + st.to_string());
                              });
                          }});
            ms.push_back({"glibc posix_spawn", "posix_spawn", [&](int n) {
                              return timed(n, [&] { check(raw_posix_spawn_wait(path, child_argv, environ), "posix_spawn"); });
                          }});
            ms.push_back({"fork + execve", "fork_exec", [&](int n) {
                              return timed(n, [&] { check(raw_fork_exec_wait(path, child_argv, environ), "fork"); });
                          }});
            measure(ms);
        }
        if (use_python) {
            std::ostringstream hold;  // the helper holds as much memory as the driver did
            hold << gib;
            python_helper py(python, BENCH_PYTHON_SCRIPT, std::vector<std::string>{"--hold-gib", hold.str()});
            std::printf("  then Python %s alone, RSS %ld MiB\n", py.version().c_str(), py.rss_kib() / 1024);
            std::vector<method> python_ms;
            python_ms.push_back({"Python " + py.version() + " subprocess.run", "python_subprocess",
                                 [&py, &program](int n) { return py.run("subprocess.run", n, program); }});
            measure(python_ms);
            for (auto& m : python_ms) {
                m.batch = nullptr;  // the helper is gone after this scope
                ms.push_back(std::move(m));
            }
        }
        std::printf("  spawns per batch:");
        for (auto& m : ms) std::printf(" %s %d;", m.key.c_str(), m.n);
        std::printf("\n");
        row rw{gib, {}, {}, {}};
        names.clear();
        keys.clear();
        for (auto& m : ms) {
            rw.median.push_back(quantile(m.samples, 0.5));
            rw.p25.push_back(quantile(m.samples, 0.25));
            rw.p75.push_back(quantile(m.samples, 0.75));
            names.push_back(m.name);
            keys.push_back(m.key);
        }
        rows.push_back(rw);
    }

    // Median µs (interquartile range) per size, then each size ÷ the same method at 0 GiB.
    std::printf("\n| method |");
    for (auto& rw : rows) std::printf(" %g GiB: µs (IQR) |", rw.gib);
    for (std::size_t s = 1; s < rows.size(); ++s) std::printf(" %g GiB ÷ 0 GiB |", rows[s].gib);
    std::printf("\n|---|");
    for (std::size_t s = 0; s < 2 * rows.size() - 1; ++s) std::printf("---:|");
    std::printf("\n");
    for (std::size_t k = 0; k < names.size(); ++k) {
        std::printf("| %s |", names[k].c_str());
        for (auto& rw : rows) std::printf(" %.1f (%.1f–%.1f) |", rw.median[k], rw.p25[k], rw.p75[k]);
        for (std::size_t s = 1; s < rows.size(); ++s) std::printf(" %.2f |", rows[s].median[k] / rows[0].median[k]);
        std::printf("\n");
    }

    std::printf("\n");
    int failures = 0;
    const std::size_t brood_index = 1;
    for (std::size_t s = 1; s < rows.size(); ++s) {
        double ratio = rows[s].median[brood_index] / rows[0].median[brood_index];
        bool met = ratio <= 1.2;
        failures += met ? 0 : 1;
        char text[96];
        std::snprintf(text, sizeof text, "brood at %g GiB ÷ at 0 GiB <= 1.2", rows[s].gib);
        std::printf("goal %-60s %.3f  %s\n", text, ratio, met ? "MET" : "NOT MET");
    }

    if (!data_file.empty()) {
        std::ofstream out(data_file);
        out << "# spawn+wait latency (median µs) of " << program << " against the parent's touched memory\n";
        out << "# kernel " << u.release << ", " << rounds << " rounds\n# gib";
        for (auto& k : keys) out << ' ' << k;
        out << '\n';
        for (auto& rw : rows) {
            out << rw.gib;
            for (double v : rw.median) out << ' ' << v;
            out << '\n';
        }
        if (!out) die("cannot write " + data_file);
        std::printf("data written to %s\n", data_file.c_str());
    }
    getloadavg(load, 3);
    std::printf("\nload at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return failures == 0 ? 0 : 3;
}
