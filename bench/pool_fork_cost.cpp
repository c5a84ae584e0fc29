// pool_fork_cost: what starting workers costs when the parent holds a lot of memory.
//
//   pool_fork_cost [--workers N] [--rounds R] [--gib 0,1,4]
//
// fork() copies the parent's page tables (and marks its pages copy-on-write), so its cost grows
// with the memory the parent has mapped, not with what the child will touch. For each size the
// parent writes that much memory (4 KiB pages, as malloc'd memory gets without THP; then again with
// transparent huge pages, where a page-table entry covers 2 MiB), and measures, as medians:
//   raw fork      fork() + _exit(0) + waitpid, one child
//   pool start    brood::pool<int,int>(f, {.workers = N}): the constructor forks N workers
//   pool ready    start, plus one task answered by each worker
//   parallel_map  parallel_map over N elements with N workers: fork, work, reap
// VmPTE (page-table memory of the parent, from /proc/self/status) is shown for each size.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ranges>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/pool.hpp>

#include "measure.hpp"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

using brood_bench::die;
using brood_bench::median;

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}


// bytes of written anonymous memory, in 4 KiB pages or (huge) in transparent huge pages.
class held_memory {
public:
    held_memory(std::size_t bytes, bool huge) : bytes_(bytes) {
        if (bytes == 0) return;
        const std::size_t align = std::size_t{2} << 20;
        void* p = ::mmap(nullptr, bytes + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) die("mmap of the held memory");
        raw_ = p;
        data_ = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + align - 1) & ~(align - 1));
        ::madvise(data_, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        // Populating in the kernel is much faster than a fault per page on this VM; then write it all.
        ::madvise(data_, bytes, MADV_POPULATE_WRITE);
        std::memset(data_, 1, bytes);
    }
    ~held_memory() {
        if (raw_ != nullptr) ::munmap(raw_, bytes_ + (std::size_t{2} << 20));
    }

private:
    std::size_t bytes_;
    void* raw_ = nullptr;
    char* data_ = nullptr;
};

double raw_fork_us() {
    const auto t0 = clock_type::now();
    const pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return ms_since(t0) * 1000;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t workers = 4;
    int rounds = 7;
    std::vector<double> sizes = {0, 1, 4};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--workers" && i + 1 < argc) workers = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--gib" && i + 1 < argc) {
            sizes.clear();
            for (const std::string& item : brood_bench::split_list(argv[++i])) sizes.push_back(std::atof(item.c_str()));
        } else {
            die("usage: pool_fork_cost [--workers N] [--rounds R] [--gib 0,1,4]");
        }
    }
    if (workers < 1 || workers > 256 || rounds < 1 || rounds > 100) die("--workers 1..256, --rounds 1..100");

    utsname u{};
    ::uname(&u);
    double load[3] = {0, 0, 0};
    ::getloadavg(load, 3);
    std::printf("pool_fork_cost: kernel %s, %ld cpus, load %.2f %.2f %.2f, %zu workers, %d rounds\n", u.release,
                ::sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], workers, rounds);
    std::printf("\n| parent holds | pages | VmPTE | raw fork+exit+wait | pool start (%zu forks) | pool ready | "
                "parallel_map, %zu tiny elements |\n|---|---|---:|---:|---:|---:|---:|\n",
                workers, workers);

    const std::vector<int> tiny(workers, 1);
    for (double gib : sizes) {
        for (bool huge : {false, true}) {
            if (gib == 0 && huge) continue;
            held_memory memory(static_cast<std::size_t>(gib * (1u << 30)), huge);
            std::vector<double> fork_us, start_ms, ready_ms, map_ms;
            for (int r = 0; r < rounds; ++r) {
                fork_us.push_back(raw_fork_us());
                {
                    const auto t0 = clock_type::now();
                    brood::pool<int, int> pool([](int x) { return x + 1; }, {.workers = workers});
                    start_ms.push_back(ms_since(t0));
                    // One task to each worker: one message in flight per worker, as many tasks as workers.
                    const auto out = pool.map(std::views::iota(0, static_cast<int>(workers)), {.chunk_size = 1, .in_flight = 1});
                    ready_ms.push_back(ms_since(t0));
                    if (out.back() != static_cast<int>(workers)) die("wrong result");
                }
                const auto t0 = clock_type::now();
                const auto out = brood::parallel_map(tiny, [](int x) { return x + 1; }, {.workers = workers});
                map_ms.push_back(ms_since(t0));
                if (out.back() != 2) die("wrong parallel_map result");
            }
            std::printf("| %.0f GiB | %s | %ld KiB | %.0f µs | %.1f ms | %.1f ms | %.1f ms |\n", gib,
                        gib == 0 ? "-" : huge ? "2 MiB (THP)" : "4 KiB", brood_bench::status_field("VmPTE"), median(fork_us),
                        median(start_ms), median(ready_ms), median(map_ms));
            std::fflush(stdout);
        }
    }
    ::getloadavg(load, 3);
    std::printf("\nload after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}
