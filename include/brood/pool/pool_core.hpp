// The untyped part of brood::pool: worker processes, shared-memory rings, dispatch, recovery.
// brood::pool<Task, Result> (worker_pool.hpp) adds the types on top. Internal: use pool.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <brood/pool/codec.hpp>
#include <brood/pool/pool_options.hpp>
#include <brood/pool/task_failed.hpp>

namespace brood::detail {

// Runs `count` encoded tasks in a worker and appends their encoded results. Throws task_threw
// (with the position in the message) when the task function throws.
using task_handler = std::function<void(byte_reader& tasks, std::uint32_t count, byte_writer& results)>;

struct task_threw {
    std::uint32_t index;
    std::string message;
};

// What the pool runs: one submitted task, or the tasks of one map (sent in chunks). Every member
// is called with the pool's lock held, from whichever thread drives the pool at that moment.
class pool_job {
public:
    virtual ~pool_job() = default;
    // Appends the encoded tasks [first, first + count).
    virtual void encode(std::size_t first, std::uint32_t count, byte_writer& out) = 0;
    // Takes the results of [first, first + count).
    virtual void complete(std::size_t first, std::uint32_t count, byte_reader& results) = 0;
    virtual void fail(task_failed error) = 0;
    // Nothing more to do (all done, or failed): its queued chunks are dropped, late results ignored.
    virtual bool finished() const = 0;
    // Whether its tasks have positions worth naming in errors (a map's do, a lone task's does not).
    virtual bool indexed() const = 0;
};

class pool_core {
public:
    using clock = std::chrono::steady_clock;

    // Forks the workers. The handler (and init) run only in the workers.
    pool_core(task_handler handler, pool_options options);
    pool_core(const pool_core&) = delete;
    pool_core& operator=(const pool_core&) = delete;
    ~pool_core();  // terminate()

    // Queues tasks [0, count) of job, chunk tasks per message, up to in_flight messages per worker.
    // Throws std::logic_error once the pool is closed.
    void enqueue(std::shared_ptr<pool_job> job, std::size_t count, std::size_t chunk, std::size_t in_flight);
    // Runs the pool from this thread until done() (called under the lock) is true or the deadline
    // passes (false). Threads waiting together take turns: one drives, the others sleep.
    // A deadline in the past still reads what the workers sent (ready() without blocking).
    bool wait(const std::function<bool()>& done, std::optional<clock::time_point> deadline = std::nullopt);
    // Marks an unfinished job failed so that nothing of it is sent any more (a map left by an exception).
    void abandon(pool_job& job);

    void close();
    void join();
    void terminate();

    std::size_t workers() const noexcept;
    std::vector<pid_t> worker_pids() const;
    std::size_t restarts() const;
    std::size_t recycled() const;
    std::size_t in_flight() const;

private:
    struct state;
    std::unique_ptr<state> state_;
};

// Processors this process may run on (sched_getaffinity), at least 1.
std::size_t available_cpus();

}  // namespace brood::detail
