#include <brood/pool/parallel_map.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <brood/child.hpp>
#include <brood/error.hpp>
#include <brood/fork.hpp>
#include <brood/pool/pool_core.hpp>

#include "fork/fork_worker.hpp"
#include "pool/shared_memory.hpp"

namespace brood {
namespace detail {
namespace {

// What a worker tells the parent through shared memory: the chunk it works on, and what it threw.
struct worker_report {
    std::atomic<std::uint64_t> begin{0};
    std::atomic<std::uint64_t> end{0};
    char error[512] = {};
};

// The shared memory: this header, then one worker_report per worker.
struct shared_state {
    alignas(64) std::atomic<std::uint64_t> next{0};  // first element nobody has claimed

    worker_report& report(std::size_t worker) noexcept {
        return reinterpret_cast<worker_report*>(reinterpret_cast<std::byte*>(this) + sizeof(shared_state))[worker];
    }
};

// Results go through a buffer of this size, reused, then pwrite: written to the memfd by the kernel,
// they cost no page fault in any process (a fresh page costs tens of µs under some hypervisors).
constexpr std::size_t batch_bytes = std::size_t{1} << 20;

void store(int fd, const std::byte* bytes, std::size_t size, std::size_t offset) {
    while (size > 0) {
        const ssize_t n = ::pwrite(fd, bytes, size, static_cast<off_t>(offset));
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) throw_errno(n == 0 ? ENOSPC : errno, "pwrite of parallel_map results");
        bytes += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::size_t>(n);
    }
}

struct work_plan {
    pid_t parent;
    std::size_t n;
    std::size_t chunk;
    std::size_t result_size;
    int results;  // the memfd
    const std::function<void(std::size_t, std::size_t, void*)>* compute;
};

[[noreturn]] void work(shared_state& shared, worker_report& report, const work_plan& plan) noexcept {
    try {
        const std::size_t per_batch = std::max<std::size_t>(1, batch_bytes / plan.result_size);
        const auto buffer = std::make_unique_for_overwrite<std::byte[]>(std::min(per_batch, plan.chunk) * plan.result_size);
        for (;;) {
            const std::uint64_t begin = shared.next.fetch_add(plan.chunk, std::memory_order_relaxed);
            // The parent gone (killed), nobody wants the results: stop at the next chunk.
            if (begin >= plan.n || ::getppid() != plan.parent) break;
            const std::uint64_t end = std::min<std::uint64_t>(begin + plan.chunk, plan.n);
            report.begin.store(begin, std::memory_order_relaxed);
            report.end.store(end, std::memory_order_relaxed);
            for (std::size_t from = begin; from < end;) {
                const std::size_t to = std::min<std::size_t>(from + per_batch, end);
                (*plan.compute)(from, to, buffer.get());
                store(plan.results, buffer.get(), (to - from) * plan.result_size, from * plan.result_size);
                from = to;
            }
        }
    } catch (const std::exception& e) {
        std::strncpy(report.error, e.what(), sizeof report.error - 1);
        exit_child(uncaught_exception_exit_code);
    } catch (...) {
        std::strncpy(report.error, "unknown exception", sizeof report.error - 1);
        exit_child(uncaught_exception_exit_code);
    }
    exit_child(0);
}

// Waits for the first worker to end (pidfd readiness); returns its position in workers.
std::size_t wait_any(std::vector<child>& workers, std::vector<std::optional<wait_status>>& ended) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < workers.size(); ++i) {
        if (ended[i]) continue;
        fds.push_back({workers[i].pidfd(), POLLIN, 0});
        which.push_back(i);
    }
    for (;;) {
        const int n = ::poll(fds.data(), fds.size(), -1);
        if (n == -1 && errno == EINTR) continue;
        if (n == -1) throw_errno(errno, "poll on parallel_map workers");
        for (std::size_t k = 0; k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            if (auto status = workers[which[k]].try_wait()) {
                ended[which[k]] = *status;
                return which[k];
            }
        }
    }
}

}  // namespace

void result_file::read(const std::function<void(const void*, std::size_t)>& take) const {
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(std::min(bytes_, batch_bytes));
    for (std::size_t offset = 0; offset < bytes_;) {
        const ssize_t n = ::pread(fd_.get(), buffer.get(), std::min(bytes_ - offset, batch_bytes), static_cast<off_t>(offset));
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) throw_errno(n == 0 ? EIO : errno, "pread of parallel_map results");
        take(buffer.get(), static_cast<std::size_t>(n));
        offset += static_cast<std::size_t>(n);
    }
}

result_file run_parallel(std::size_t n, std::size_t result_size, const parallel_map_options& options,
                         const std::function<void(std::size_t, std::size_t, void*)>& compute) {
    const std::size_t count = std::min(options.workers != 0 ? options.workers : available_cpus(), n);
    const std::size_t chunk = options.chunk != 0 ? options.chunk : std::max<std::size_t>(1, n / (count * 16));
    unique_fd results(::memfd_create("brood-parallel-map", MFD_CLOEXEC));
    if (!results) throw_errno(errno, "memfd_create for parallel_map results");
    const std::size_t bytes = n * result_size;
    if (::ftruncate(results.get(), static_cast<off_t>(bytes)) == -1)
        throw_errno(errno, "ftruncate of parallel_map results to " + std::to_string(bytes) + " bytes");
    const work_plan plan{::getpid(), n, chunk, result_size, results.get(), &compute};
    shared_memory memory(sizeof(shared_state) + count * sizeof(worker_report));
    auto* shared = new (memory.data()) shared_state;
    for (std::size_t i = 0; i < count; ++i) new (&shared->report(i)) worker_report;

    // A failure to fork leaves through an exception: the handles made so far kill and reap theirs.
    std::vector<child> workers;
    workers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        std::optional<child> kid = fork_worker(options.inherit_signals);
        if (!kid) work(*shared, shared->report(i), plan);
        if (kid->pidfd() < 0) throw std::runtime_error("brood::parallel_map needs pidfd support (Linux 5.3 or later)");
        workers.push_back(std::move(*kid));
    }

    std::vector<std::optional<wait_status>> ended(count);
    for (std::size_t left = count; left > 0; --left) {
        const std::size_t i = wait_any(workers, ended);
        if (ended[i]->success()) continue;
        // One failed: the others' work is useless now. Stop them before reporting.
        for (auto& worker : workers) worker.kill();
        for (auto& worker : workers) worker.wait();
        const worker_report& report = shared->report(i);
        throw parallel_map_error(i, workers[i].pid(), report.begin.load(), report.end.load(), *ended[i],
                                 std::string(report.error, ::strnlen(report.error, sizeof report.error)));
    }
    return result_file(std::move(results), bytes);
}

}  // namespace detail

namespace {

std::string describe(std::size_t worker, pid_t pid, std::size_t begin, std::size_t end, const wait_status& status,
                     const std::string& message) {
    std::string text = "brood::parallel_map: worker " + std::to_string(worker) + " (pid " + std::to_string(pid);
    text += begin == end ? ", before it took any elements)"
                         : ", slice [" + std::to_string(begin) + ", " + std::to_string(end) + "))";
    text += message.empty() ? " " + status.to_string() : " threw: " + message;
    return text;
}

}  // namespace

parallel_map_error::parallel_map_error(std::size_t worker, pid_t pid, std::size_t slice_begin, std::size_t slice_end,
                                       wait_status status, std::string message)
    : std::runtime_error(describe(worker, pid, slice_begin, slice_end, status, message)),
      worker_(worker),
      pid_(pid),
      slice_begin_(slice_begin),
      slice_end_(slice_end),
      status_(status),
      message_(std::move(message)) {}

}  // namespace brood
