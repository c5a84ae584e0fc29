// parallel_map_cow: the tutorials' central point, copy-on-write, put to work.
//
//   parallel_map_cow [--records N] [--workers W] [--crash I]
//
// The parent builds N records (default 10 million, 64 bytes each) in an ordinary std::vector.
// brood::parallel_map forks the workers, which read the records straight from the memory they
// inherited: nothing is copied or serialized. Each worker looks at its own /proc/PID/smaps_rollup
// while it works, and the program prints what it saw: the input is *shared* with the parent, and
// the worker's *private* memory stays a megabyte or so, however much of the input it reads.
//
// --crash I makes the function abort() at record I, to show the error parallel_map throws: it names
// the worker, the slice it was working on and how it died, and no worker is left running.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <brood/pool.hpp>
#include <brood/proc.hpp>

namespace {

struct record {
    std::uint64_t id;
    double price;
    std::uint32_t quantity;
    char name[44];
};
static_assert(sizeof(record) == 64);

double value_of(const record& r) {
    double weight = 1;
    for (char c : r.name) weight = weight * 1.0001 + static_cast<unsigned char>(c) * 1e-6;
    return r.price * r.quantity * weight;
}

// What a worker saw of itself, written into memory shared with the parent.
struct sighting {
    pid_t pid;
    std::uint64_t shared, private_bytes;
};

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = 10'000'000;
    std::size_t workers = 0;
    long crash_at = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--records" && i + 1 < argc) n = std::strtoul(argv[++i], nullptr, 10);
        else if (option == "--workers" && i + 1 < argc) workers = std::strtoul(argv[++i], nullptr, 10);
        else if (option == "--crash" && i + 1 < argc) crash_at = std::strtol(argv[++i], nullptr, 10);
        else {
            std::fprintf(stderr, "usage: parallel_map_cow [--records N] [--workers W] [--crash I]\n");
            return 2;
        }
    }
    if (n < 1 || n > 200'000'000) {
        std::fprintf(stderr, "parallel_map_cow: --records 1..200000000\n");
        return 2;
    }

    auto t0 = std::chrono::steady_clock::now();
    std::vector<record> records(n);
    for (std::size_t i = 0; i < n; ++i) {
        record& r = records[i];
        r.id = i;
        r.price = 1.0 + static_cast<double>(i % 1000) / 100;
        r.quantity = static_cast<std::uint32_t>(1 + i % 7);
        std::snprintf(r.name, sizeof r.name, "item-%zu", i);
    }
    std::printf("parent %d: built %zu records (%.0f MiB) in %.2f s\n", static_cast<int>(::getpid()), n,
                mib(n * sizeof(record)), seconds_since(t0));

    // Up to 64 sightings, taken at evenly spaced records.
    const std::size_t every = std::max<std::size_t>(1, n / 64);
    void* shared = ::mmap(nullptr, 65 * sizeof(sighting), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return 1;
    auto* seen = static_cast<sighting*>(shared);
    const record* first = records.data();

    t0 = std::chrono::steady_clock::now();
    std::vector<double> values;
    try {
        values = brood::parallel_map(
            records,
            [&](const record& r) {
                const auto i = static_cast<std::size_t>(&r - first);
                if (static_cast<long>(i) == crash_at) {
                    const rlimit no_core{0, 0};
                    ::setrlimit(RLIMIT_CORE, &no_core);
                    std::abort();
                }
                if (i % every == every - 1) {
                    if (auto m = brood::proc::read_memory(::getpid()))
                        seen[i / every] = {::getpid(), m->shared(), m->private_total()};
                }
                return value_of(r);
            },
            {.workers = workers});
    } catch (const brood::parallel_map_error& e) {
        std::printf("parallel_map failed: %s\n", e.what());
        std::printf("(worker %zu, pid %d, slice [%zu, %zu), %s; every worker has been reaped)\n", e.worker(),
                    static_cast<int>(e.pid()), e.slice_begin(), e.slice_end(), e.status().to_string().c_str());
        return 1;
    }
    const double parallel = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    double check = 0;
    for (const record& r : records) check += value_of(r);
    const double alone = seconds_since(t0);
    double total = 0;
    for (double v : values) total += v;
    std::printf("parallel_map: %.2f s; the same loop in the parent alone: %.2f s; totals %s (%.6g)\n", parallel, alone,
                total == check ? "agree" : "DIFFER", total);

    std::map<pid_t, sighting> last;
    for (std::size_t s = 0; s < 65; ++s)
        if (seen[s].pid != 0) last[seen[s].pid] = seen[s];
    std::printf("what each worker saw of itself, near the end of its work:\n");
    for (const auto& [pid, s] : last)
        std::printf("  worker pid %d: shared with the parent %.0f MiB, private %.1f MiB\n", static_cast<int>(pid),
                    mib(s.shared), mib(s.private_bytes));
    std::printf("the input (%.0f MiB) was read in place, copy-on-write: no worker copied it.\n",
                mib(n * sizeof(record)));
    ::munmap(shared, 65 * sizeof(sighting));
    return 0;
}
