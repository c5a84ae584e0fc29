// pool_parallel_map: brood::parallel_map over a large in-memory input against a single-threaded loop.
//
//   pool_parallel_map [--gib G] [--rounds R] [--workers W] [--work K] [--pages 4k|thp]
//
// The parent builds G GiB of 64-byte records (default 1 GiB: 16 Mi records) in memory backed by
// 4 KiB pages (--pages 4k, what malloc'd memory gets unless transparent huge pages are on for it)
// or by 2 MiB transparent huge pages (--pages thp: madvise(MADV_HUGEPAGE)), and maps each record
// to a 32-bit hash of its bytes, K mixing rounds over the 64 bytes (--work, default 1: about 15 ns a
// record here), three ways, interleaved in rounds:
//   loop          std::vector<std::uint32_t> out(n); for (i) out[i] = f(records[i]);
//   loop, warm    the same loop into an output vector allocated and written once before timing
//                 (the compute alone, without the page faults of fresh output memory)
//   parallel_map  brood::parallel_map(records, f): forks the workers, which read the records in
//                 place (copy-on-write), results through a memfd, returned as a std::vector
// Then one more parallel_map in which every worker samples its own /proc/PID/smaps_rollup as it
// goes: total PSS of the workers (the sum of each worker's largest sample) against the input size,
// and each worker's private memory.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <brood/pool.hpp>
#include <brood/proc.hpp>

#include "measure.hpp"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

using brood_bench::die;

using clock_type = std::chrono::steady_clock;

struct record {
    std::uint64_t key;
    std::uint32_t values[14];
};
static_assert(sizeof(record) == 64);

int work_rounds = 1;

std::uint32_t hash(const record& r) {
    std::uint64_t h = r.key * 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < work_rounds; ++round) {
        for (std::uint32_t v : r.values) {
            h ^= v;
            h *= 0xff51afd7ed558ccdull;
            h ^= h >> 29;
        }
    }
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

// The input's memory: 2 MiB-aligned, 4 KiB pages or transparent huge pages, populated and written.
std::span<record> make_input(std::size_t n, bool huge) {
    const std::size_t align = std::size_t{2} << 20;
    const std::size_t bytes = n * sizeof(record);
    void* p = ::mmap(nullptr, bytes + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap of the input");
    auto* data = reinterpret_cast<record*>((reinterpret_cast<std::uintptr_t>(p) + align - 1) & ~(align - 1));
    ::madvise(data, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    ::madvise(data, bytes, MADV_POPULATE_WRITE);  // far cheaper than a fault per page on this VM
    for (std::size_t i = 0; i < n; ++i) {
        data[i].key = i;
        for (std::uint32_t k = 0; k < 14; ++k) data[i].values[k] = static_cast<std::uint32_t>(i * 2654435761u + k);
    }
    return {data, n};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

struct sample {
    pid_t pid;
    std::uint64_t pss, private_bytes;
};

}  // namespace

int main(int argc, char** argv) {
    double gib = 1;
    int rounds = 5;
    std::size_t workers = 0;
    std::string pages = "4k";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--gib" && i + 1 < argc) gib = std::atof(argv[++i]);
        else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--workers" && i + 1 < argc) workers = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--work" && i + 1 < argc) work_rounds = std::atoi(argv[++i]);
        else if (a == "--pages" && i + 1 < argc) pages = argv[++i];
        else die("usage: pool_parallel_map [--gib G] [--rounds R] [--workers W] [--work K] [--pages 4k|thp]");
    }
    if (!(gib > 0 && gib <= 16) || rounds < 1 || rounds > 50 || work_rounds < 1 || (pages != "4k" && pages != "thp"))
        die("--gib 0..16, --rounds 1..50, --work >= 1, --pages 4k or thp");

    const std::size_t n = static_cast<std::size_t>(gib * (1u << 30)) / sizeof(record);
    const std::size_t input_bytes = n * sizeof(record);
    const std::span<record> records = make_input(n, pages == "thp");

    utsname u{};
    ::uname(&u);
    double load[3] = {0, 0, 0};
    ::getloadavg(load, 3);
    const std::size_t used_workers = workers != 0 ? workers : brood::detail::available_cpus();
    std::printf("pool_parallel_map: kernel %s, %ld cpus, load %.2f %.2f %.2f; %zu records, %.2f GiB input in %s pages, "
                "work %d, %zu workers, %d rounds\n",
                u.release, ::sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], n, input_bytes / double(1u << 30),
                pages == "thp" ? "2 MiB (THP)" : "4 KiB", work_rounds, used_workers, rounds);

    std::vector<std::uint32_t> expected(n);
    for (std::size_t i = 0; i < n; ++i) expected[i] = hash(records[i]);
    std::vector<std::uint32_t> warm(n, 1);

    std::vector<double> loop, loop_warm, parallel;
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < 3; ++k) {
            switch ((k + r) % 3) {
                case 0: {
                    const auto t0 = clock_type::now();
                    std::vector<std::uint32_t> out(n);
                    for (std::size_t i = 0; i < n; ++i) out[i] = hash(records[i]);
                    loop.push_back(seconds_since(t0));
                    if (out != expected) die("loop: wrong results");
                    break;
                }
                case 1: {
                    const auto t0 = clock_type::now();
                    for (std::size_t i = 0; i < n; ++i) warm[i] = hash(records[i]);
                    loop_warm.push_back(seconds_since(t0));
                    if (warm != expected) die("warm loop: wrong results");
                    break;
                }
                case 2: {
                    const auto t0 = clock_type::now();
                    const auto out = brood::parallel_map(records, hash, {.workers = workers});
                    parallel.push_back(seconds_since(t0));
                    if (out != expected) die("parallel_map: wrong results");
                    break;
                }
            }
        }
    }

    // Memory: each worker samples itself every 2^20 records into memory shared with the parent.
    const std::size_t every = std::size_t{1} << 20;
    const std::size_t slots = n / every + 1;
    void* shared = ::mmap(nullptr, slots * sizeof(sample), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap");
    auto* seen = static_cast<sample*>(shared);
    const record* base = records.data();
    brood::parallel_map(
        records,
        [&](const record& r) {
            const auto i = static_cast<std::size_t>(&r - base);
            if (i % every == every - 1) {
                const auto m = brood::proc::read_memory(::getpid()).value();
                seen[i / every] = {::getpid(), m.pss, m.private_total()};
            }
            return hash(r);
        },
        {.workers = workers});
    std::map<pid_t, sample> peak;
    for (std::size_t s = 0; s < slots; ++s) {
        if (seen[s].pid == 0) continue;
        sample& p = peak[seen[s].pid];
        p.pss = std::max(p.pss, seen[s].pss);
        p.private_bytes = std::max(p.private_bytes, seen[s].private_bytes);
    }
    std::uint64_t total_pss = 0, most_private = 0;
    for (const auto& [pid, p] : peak) {
        total_pss += p.pss;
        most_private = std::max(most_private, p.private_bytes);
    }
    const auto parent = brood::proc::read_memory(::getpid()).value();

    const double l = median(loop), w = median(loop_warm), p = median(parallel);
    std::printf("\n| method | median s | min .. max |\n|---|---:|---:|\n");
    auto row = [](const char* name, const std::vector<double>& v) {
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        std::printf("| %s | %.3f | %.3f .. %.3f |\n", name, median(v), *lo, *hi);
    };
    row("single-threaded loop (fresh output vector)", loop);
    row("single-threaded loop (output already in memory)", loop_warm);
    row("brood::parallel_map", parallel);
    std::printf("\n| figure | value | goal |\n|---|---:|---|\n");
    std::printf("| speed-up vs the loop | %.2fx | >= 1.8x on 2 cores: %s |\n", l / p, l / p >= 1.8 ? "met" : "missed");
    std::printf("| speed-up vs the loop with its output in memory | %.2fx | (compute only) |\n", w / p);
    std::printf("| total PSS of the %zu workers (sum of each one's peak) | %.0f MiB = %.2fx the input | <= 1.1x: %s |\n",
                peak.size(), total_pss / 1048576.0, double(total_pss) / double(input_bytes),
                double(total_pss) <= 1.1 * double(input_bytes) ? "met" : "missed");
    std::printf("| largest private memory of a worker | %.1f MiB | |\n", most_private / 1048576.0);
    std::printf("| parent: PSS / private (holds input, expected, warm output) | %.0f / %.0f MiB | |\n",
                parent.pss / 1048576.0, parent.private_total() / 1048576.0);
    ::munmap(shared, slots * sizeof(sample));
    ::getloadavg(load, 3);
    std::printf("\nload after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}
