// parallel_map: apply a function to every element of a large in-memory range in forked workers
// that read the range straight from the memory they inherit, copy-on-write. Nothing of the input is
// copied or serialized; results are written into shared memory the parent sees.
//
//   std::vector<record> records = load();                            // 10 million, in the parent
//   std::vector<double> scores = brood::parallel_map(records, [](const record& r) { return score(r); });
//
// Workers claim chunks of the index range from a shared counter, so a slow worker takes fewer. The
// result type must be trivially copyable: workers store their results as bytes in a memfd, from
// which the parent fills the returned vector. Workers default to the CPUs this process may run on.
//
// A worker that fails (throws, exits non-zero, is killed) makes the call throw parallel_map_error
// naming the worker, the slice it was working on and how it ended; the other workers are killed and
// every worker is reaped before the exception leaves: nothing is left running.
//
// As with any fork: only the calling thread exists in the workers (see docs/pool.md).
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <utility>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <sys/types.h>

#include <brood/status.hpp>
#include <brood/unique_fd.hpp>

namespace brood {

struct parallel_map_options {
    // Worker processes; 0: one per CPU this process may run on. Never more than elements.
    std::size_t workers = 0;
    // Elements a worker claims at a time; 0: about 16 chunks per worker.
    std::size_t chunk = 0;
    // false: each worker starts with an empty signal mask, and every signal this process handles
    // back to its default action (ignored ones stay ignored), as after exec. true: workers keep the
    // forking thread's mask and handlers, as with brood::fork.
    bool inherit_signals = false;
};

class parallel_map_error : public std::runtime_error {
public:
    parallel_map_error(std::size_t worker, pid_t pid, std::size_t slice_begin, std::size_t slice_end,
                       wait_status status, std::string message);
    std::size_t worker() const noexcept { return worker_; }
    pid_t pid() const noexcept { return pid_; }
    // The elements [slice_begin, slice_end) the worker was working on (empty if it had taken none).
    std::size_t slice_begin() const noexcept { return slice_begin_; }
    std::size_t slice_end() const noexcept { return slice_end_; }
    const wait_status& status() const noexcept { return status_; }
    // What the function threw, if it threw (the worker then exited with code 70).
    const std::string& message() const noexcept { return message_; }

private:
    std::size_t worker_;
    pid_t pid_;
    std::size_t slice_begin_;
    std::size_t slice_end_;
    wait_status status_;
    std::string message_;
};

namespace detail {

// The results of a parallel_map: a memfd the workers wrote with pwrite (never mapped by anyone, so
// no process pays page faults on it: see docs/pool.md, "Page faults").
class result_file {
public:
    result_file(unique_fd fd, std::size_t bytes) noexcept : fd_(std::move(fd)), bytes_(bytes) {}
    // Calls take(bytes, size) for consecutive pieces of the results, in order.
    void read(const std::function<void(const void* bytes, std::size_t size)>& take) const;

private:
    unique_fd fd_;
    std::size_t bytes_;
};

// Forks the workers; each claims chunks of [0, n), has compute(begin, end, out) write the results
// of [begin, end) (result_size bytes each) to out and stores them in the result file. Returns
// once every worker has finished; throws parallel_map_error, after all workers are reaped, if one
// failed.
result_file run_parallel(std::size_t n, std::size_t result_size, const parallel_map_options& options,
                         const std::function<void(std::size_t begin, std::size_t end, void* out)>& compute);

// Asks the kernel to back [data, data + bytes) with memory now (and with huge pages where that is
// enabled on request), instead of one page fault per page while it is written.
void prefault(void* data, std::size_t bytes) noexcept;

}  // namespace detail

template <std::ranges::random_access_range Range, class F>
    requires std::ranges::sized_range<const Range> && std::invocable<F&, std::ranges::range_reference_t<const Range>> &&
             std::is_trivially_copyable_v<std::remove_cvref_t<std::invoke_result_t<F&, std::ranges::range_reference_t<const Range>>>>
auto parallel_map(const Range& input, F fn, parallel_map_options options = {}) {
    using result = std::remove_cvref_t<std::invoke_result_t<F&, std::ranges::range_reference_t<const Range>>>;
    const auto n = static_cast<std::size_t>(std::ranges::size(input));
    std::vector<result> out;
    if (n == 0) return out;
    const auto first = std::ranges::begin(input);
    const detail::result_file file =
        detail::run_parallel(n, sizeof(result), options, [&](std::size_t begin, std::size_t end, void* to) {
            auto* slot = static_cast<result*>(to);
            for (std::size_t i = begin; i < end; ++i, ++slot)
                ::new (static_cast<void*>(slot)) result(fn(first[static_cast<std::ranges::range_difference_t<const Range>>(i)]));
        });
    // Allocated only now, after the fork: the workers did not need it.
    out.reserve(n);
    // std::vector<bool> packs its bits and has no data() to prefault; it is 8 times smaller anyway.
    if constexpr (!std::is_same_v<result, bool>) detail::prefault(out.data(), n * sizeof(result));
    file.read([&](const void* bytes, std::size_t size) {
        const auto* values = static_cast<const result*>(bytes);
        out.insert(out.end(), values, values + size / sizeof(result));
    });
    return out;
}

}  // namespace brood
