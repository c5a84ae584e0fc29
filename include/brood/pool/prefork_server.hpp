// prefork_server: N worker processes sharing one listening socket created before the fork (the
// Apache prefork / gunicorn model), kept running: a worker that ends is reaped and restarted,
// with a growing delay if it keeps dying young.
//
//   brood::unique_fd listener = listen_on_localhost(8080);           // socket, bind, listen
//   brood::prefork_server server(std::move(listener), [](int fd, std::size_t) {
//       for (;;) serve(::accept(fd, nullptr, nullptr));                // the kernel spreads accepts
//   }, {.workers = 4});
//   server.run();                        // supervise until request_stop() (e.g. from SIGTERM)
//   server.stop();                       // SIGTERM to the workers, SIGKILL after the grace; reaped
//
// The worker function runs in the forked child with the listening fd and its slot number; when it
// returns the worker exits 0, an escaping exception exits 70 (brood::fork), and either way the
// supervisor starts a new one. Restart delay: a worker that lived at least min_uptime is replaced
// at once; one that died sooner waits backoff_initial, doubled for each further early death of
// that slot, up to backoff_max.
//
// Thread safety: one supervisor thread; request_stop() is safe from any thread and from a signal
// handler (it writes an eventfd). Workers start with an empty signal mask and default actions for
// the signals the supervisor handles (inherit_signals keeps them), so stop()'s SIGTERM ends a worker
// even when the supervisor blocks SIGTERM to read it from a signalfd. Needs Linux 5.3 or later (pidfd).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <sys/types.h>

#include <brood/child.hpp>
#include <brood/status.hpp>
#include <brood/unique_fd.hpp>

namespace brood {

struct prefork_options {
    std::size_t workers = 4;
    std::chrono::milliseconds min_uptime{1000};
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_max{10000};
    // stop(): how long workers have between SIGTERM and SIGKILL.
    std::chrono::milliseconds stop_grace{5000};
    // Workers get SIGKILL when the supervisor dies (PR_SET_PDEATHSIG), so a crashed supervisor
    // leaves no worker holding the socket. Linux sends it when the *thread* that forked the worker
    // ends: construct and run the server on a thread that lives as long as it, or turn this off.
    bool die_with_supervisor = true;
    // false: each worker starts with an empty signal mask, and every signal this process handles
    // back to its default action (ignored ones stay ignored), as after exec. true: workers keep the
    // supervisor thread's mask and handlers, as with brood::fork.
    bool inherit_signals = false;
};

// A worker that ended, as the supervisor saw it.
struct worker_exit {
    std::size_t worker;  // slot
    pid_t pid;
    wait_status status;
    std::chrono::milliseconds uptime;
    std::chrono::milliseconds restart_delay;  // before its replacement starts
};

class prefork_server {
public:
    using worker_function = std::function<void(int listener, std::size_t worker)>;
    using clock = std::chrono::steady_clock;

    // Takes the listening socket and forks the workers.
    prefork_server(unique_fd listener, worker_function fn, prefork_options options = {});
    prefork_server(const prefork_server&) = delete;
    prefork_server& operator=(const prefork_server&) = delete;
    ~prefork_server();  // stop()

    // Supervises for up to timeout: reaps the workers that end and starts replacements when due.
    // Returns early once request_stop() was called.
    void run_for(std::chrono::milliseconds timeout);
    // Supervises until request_stop().
    void run();
    // Makes run() / run_for() return. Async-signal-safe.
    void request_stop() noexcept;
    bool stop_requested() const noexcept { return stop_requested_.load(std::memory_order_relaxed); }
    // SIGTERM (and SIGCONT) to every worker, SIGKILL to those still running after stop_grace; all
    // are reaped and none is restarted. The listening socket stays open until destruction.
    void stop();

    // Called in the supervisor for every worker that ends.
    void on_exit(std::function<void(const worker_exit&)> callback) { on_exit_ = std::move(callback); }

    int listener() const noexcept { return listener_.get(); }
    // The pids of the workers running now, by slot (0 while a slot waits for its restart).
    std::vector<pid_t> worker_pids() const;
    std::size_t restarts() const noexcept { return restarts_; }

private:
    struct slot {
        child process;
        clock::time_point started{};
        clock::time_point restart_at{};
        std::chrono::milliseconds backoff{0};
    };

    void start(std::size_t index);
    void reap(std::size_t index, const wait_status& status);

    unique_fd listener_;
    worker_function fn_;
    prefork_options options_;
    std::vector<slot> slots_;
    unique_fd wake_;  // eventfd written by request_stop()
    std::atomic<bool> stop_requested_{false};
    bool stopped_ = false;
    std::size_t restarts_ = 0;
    std::function<void(const worker_exit&)> on_exit_;
};

}  // namespace brood
