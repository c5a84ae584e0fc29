// brood::pool: prefork worker processes that run one function on tasks sent to them as data.
//
//   brood::pool<int, int> workers([](int x) { return x + 1; }, {.workers = 2});
//   brood::task<int> t = workers.submit(41);
//   t.get();                                                      // 42, or throws brood::task_failed
//   std::vector<int> out = workers.map(std::views::iota(0, 1000000));   // in input order
//   workers.join();                                               // or let the destructor stop them
//
// The workers are forks of the process that creates the pool: whatever it holds then (loaded
// models, parsed data, the function's captures) they share copy-on-write. Tasks and results travel
// through the codec (codec.hpp) over a shared-memory ring per worker.
//
// Crashes: a task whose function throws fails with reason::threw; the worker carries on. A worker
// that dies (abort, SIGKILL, exit()) fails only the task it was running, with its wait_status; the
// tasks queued behind it go to the other workers and a fresh fork takes its slot.
//
// Who runs the pool: there is no thread of the pool's own. The thread waiting in get(), wait(),
// map() or join() reads results, hands out tasks and replaces dead workers; when several threads
// wait, one drives and the others sleep. A worker that dies while nobody waits is replaced at the
// next call. submit() from any thread; join(), terminate() and the destructor must not overlap
// with waits in other threads. Workers must not use the pool object they were forked from.
//
// Needs Linux 5.3 or later (pidfd). A fork in a multi-threaded program copies only the calling
// thread: locks other threads held stay locked in the workers (see docs/pool.md).
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <brood/pool/codec.hpp>
#include <brood/pool/pool_core.hpp>
#include <brood/pool/pool_options.hpp>
#include <brood/pool/task_failed.hpp>

namespace brood {

namespace detail {

template <class Result>
class task_state final : public pool_job {
public:
    void encode(std::size_t, std::uint32_t, byte_writer& out) override { out.write(payload.data(), payload.size()); }
    void complete(std::size_t, std::uint32_t, byte_reader& in) override {
        value.emplace(in.decode<Result>());
        done.store(true, std::memory_order_release);
    }
    void fail(task_failed error_) override {
        error.emplace(std::move(error_));
        done.store(true, std::memory_order_release);
    }
    bool finished() const override { return done.load(std::memory_order_relaxed); }
    bool indexed() const override { return false; }

    byte_buffer payload;  // the encoded task, kept to send it again if its worker dies first
    std::optional<Result> value;
    std::optional<task_failed> error;
    std::atomic<bool> done{false};
};

template <class Range, class Task, class Result>
class map_job final : public pool_job {
public:
    map_job(const Range& range, std::size_t n) : range_(&range), left_(n), results(n) {}

    void encode(std::size_t first, std::uint32_t count, byte_writer& out) override {
        auto it = std::ranges::begin(*range_) + static_cast<std::ranges::range_difference_t<const Range>>(first);
        for (std::uint32_t i = 0; i < count; ++i, ++it) {
            if constexpr (std::same_as<std::remove_cvref_t<std::ranges::range_reference_t<const Range>>, Task>)
                out.encode<Task>(*it);
            else
                out.encode<Task>(static_cast<Task>(*it));
        }
    }
    void complete(std::size_t first, std::uint32_t count, byte_reader& in) override {
        for (std::uint32_t i = 0; i < count; ++i) results[first + i] = in.decode<Result>();
        left_ -= count;
    }
    void fail(task_failed error_) override {
        if (!error) error.emplace(std::move(error_));
    }
    bool finished() const override { return left_ == 0 || error.has_value(); }
    bool indexed() const override { return true; }

private:
    const Range* range_;  // read only while unfinished: map() returns only once finished
    std::size_t left_;

public:
    std::vector<Result> results;
    std::optional<task_failed> error;
};

}  // namespace detail

template <class Task, class Result>
    requires encodable<Task> && encodable<Result>
class pool;

// The pending result of pool::submit. Like std::future: get() once.
template <class Result>
class task {
public:
    task() = default;

    bool valid() const noexcept { return state_ != nullptr; }
    // Whether the result (or the failure) is in, after taking in what the workers sent; never blocks.
    bool ready() const {
        return state_->done.load(std::memory_order_acquire) ||
               core_->wait([s = state_.get()] { return s->finished(); }, detail::pool_core::clock::now());
    }
    void wait() const {
        if (!state_->done.load(std::memory_order_acquire)) core_->wait([s = state_.get()] { return s->finished(); });
    }
    // False if the task is still running after timeout.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        return state_->done.load(std::memory_order_acquire) ||
               core_->wait([s = state_.get()] { return s->finished(); }, detail::pool_core::clock::now() + timeout);
    }
    // The result, or throws task_failed. Leaves the handle empty (valid() == false).
    Result get() {
        if (!state_) throw std::logic_error("brood::task: get() on an empty handle");
        wait();
        const auto state = std::move(state_);
        if (state->error) throw *state->error;
        return std::move(*state->value);
    }

private:
    template <class T, class R>
        requires encodable<T> && encodable<R>
    friend class pool;
    task(std::shared_ptr<detail::task_state<Result>> state, detail::pool_core* core)
        : state_(std::move(state)), core_(core) {}

    std::shared_ptr<detail::task_state<Result>> state_;
    detail::pool_core* core_ = nullptr;  // unused once done: the pool finishes every task it drops
};

struct map_options {
    // Tasks per message; 0: about workers x 4 chunks in all (like Python's default chunksize),
    // at most 65536 tasks each.
    std::size_t chunk_size = 0;
    // Messages of this map queued to one worker at a time; 0: the pool's max_in_flight. With
    // chunk_size 1 and tiny tasks, a deeper queue (64, 256) keeps the workers from waiting.
    std::size_t in_flight = 0;
};

template <class Task, class Result>
    requires encodable<Task> && encodable<Result>
class pool {
public:
    // Forks the workers. fn runs in the workers only, on a decoded Task; its result is sent back.
    template <class F>
        requires std::invocable<F&, const Task&> && std::convertible_to<std::invoke_result_t<F&, const Task&>, Result>
    explicit pool(F fn, pool_options options = {})
        : core_(std::make_unique<detail::pool_core>(make_handler(std::move(fn)), std::move(options))) {}

    // Queues one task (encoded now); it starts as soon as a worker is free. Throws std::logic_error
    // after close(); a codec's exception if Task cannot be encoded.
    task<Result> submit(const Task& value) {
        auto state = std::make_shared<detail::task_state<Result>>();
        byte_writer out(state->payload);
        out.encode(value);
        core_->enqueue(state, 1, 1, 0);
        return task<Result>(std::move(state), core_.get());
    }

    // Runs every element of tasks and returns the results in the same order; throws the first
    // task_failed (the rest of the map is dropped). tasks must stay unchanged until map returns.
    template <std::ranges::random_access_range Range>
        requires std::ranges::sized_range<const Range> &&
                 std::constructible_from<Task, std::ranges::range_reference_t<const Range>> &&
                 std::default_initializable<Result>
    std::vector<Result> map(const Range& tasks, map_options options = {}) {
        const auto n = static_cast<std::size_t>(std::ranges::size(tasks));
        if (n == 0) return {};
        auto job = std::make_shared<detail::map_job<Range, Task, Result>>(tasks, n);
        const std::size_t chunk = options.chunk_size != 0 ? options.chunk_size : default_chunk(n);
        core_->enqueue(job, n, chunk, options.in_flight);
        try {
            core_->wait([j = job.get()] { return j->finished(); });
        } catch (...) {
            core_->abandon(*job);  // tasks is about to go away: nothing more of it may be encoded
            throw;
        }
        if (job->error) throw *job->error;
        return std::move(job->results);
    }

    // No more submit or map (they throw std::logic_error); queued tasks still run.
    void close() { core_->close(); }
    // close(), wait for every task, then stop the workers (each exits 0) and reap them.
    void join() { core_->join(); }
    // Stop now: unfinished tasks fail with reason::pool_stopped; idle workers exit 0, busy ones are
    // killed; all are reaped. The destructor does this.
    void terminate() { core_->terminate(); }

    std::size_t workers() const noexcept { return core_->workers(); }
    std::vector<pid_t> worker_pids() const { return core_->worker_pids(); }
    // Workers that died and were replaced; workers retired by max_tasks_per_worker.
    std::size_t restarts() const { return core_->restarts(); }
    std::size_t recycled() const { return core_->recycled(); }

private:
    std::size_t default_chunk(std::size_t n) const {
        const std::size_t parts = core_->workers() * 4;
        return std::clamp<std::size_t>((n + parts - 1) / parts, 1, 65536);
    }

    template <class F>
    static detail::task_handler make_handler(F fn) {
        // std::function needs a copyable target; sharing the callable keeps a move-only one usable.
        return [fn = std::make_shared<F>(std::move(fn))](byte_reader& in, std::uint32_t count, byte_writer& out) {
            F& call = *fn;
            for (std::uint32_t i = 0; i < count; ++i) {
                try {
                    const Task value = in.decode<Task>();
                    out.encode<Result>(static_cast<Result>(call(value)));
                } catch (const std::exception& e) {
                    throw detail::task_threw{i, e.what()};
                } catch (...) {
                    throw detail::task_threw{i, "unknown exception"};
                }
            }
        };
    }

    std::unique_ptr<detail::pool_core> core_;
};

}  // namespace brood
