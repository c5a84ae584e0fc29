// pool_options: how many workers a brood::pool runs and how it feeds them.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

namespace brood {

struct pool_options {
    // Worker processes; 0 means one per CPU this process may run on (sched_getaffinity).
    std::size_t workers = 0;
    // Runs in each worker right after fork, before its first task, with the worker's slot number.
    // If it throws (or the worker dies in it) the tasks sent to that worker go to another one.
    std::function<void(std::size_t worker)> init{};
    // Recycle a worker once it has been given this many tasks (0: never), like Python's
    // maxtasksperchild. It finishes them, exits, and a fresh fork takes its slot.
    std::size_t max_tasks_per_worker = 0;
    // Messages (a submitted task, or one chunk of a map) queued to one worker at a time. 2 keeps a
    // worker busy while its next task is on the way, and keeps long tasks spread over the workers.
    std::size_t max_in_flight = 2;
    // How long a waiting side spins (checking shared memory) before it sleeps on its eventfd.
    // Spinning makes a round trip take microseconds instead of two scheduler wake-ups; 0 turns it off.
    std::chrono::microseconds spin{50};
    // Bytes of each of a worker's two shared-memory rings (tasks in, results out); rounded up to a
    // power of two of at least a page. Messages larger than this still pass, streamed in pieces.
    std::size_t ring_bytes = std::size_t{1} << 20;
    // false: each worker starts with an empty signal mask, and every signal this process handles
    // back to its default action (ignored ones stay ignored), as after exec. true: workers keep the
    // forking thread's mask and handlers, as with brood::fork.
    bool inherit_signals = false;
};

}  // namespace brood
