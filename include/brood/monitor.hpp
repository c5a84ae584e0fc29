// monitor: one event loop over many children, timers and file descriptors.
//
// Callbacks:
//   brood::monitor mon({.report_stops = true});
//   auto id = mon.watch(brood::command("server").spawn(), /*tag=*/1);
//   mon.add_timer(std::chrono::seconds(5), /*tag=*/2);
//   mon.on_event([&](const brood::monitor::event& e) {
//       if (e.from == brood::monitor::source::child) std::cout << e.pid << ' ' << e.status->to_string() << '\n';
//   });
//   mon.run();                                    // until stop() or nothing is left to wait for
// Pull:
//   while (auto e = mon.next_event(std::chrono::milliseconds(100))) ...
// Embedded in another loop: poll mon.fd() for POLLIN, then call mon.run_once(std::chrono::milliseconds(0)).
//
// What it reports: a watched child's exit (exited / killed), and with report_stops its stopped and
// continued events; with init_of_tree, the exits of every child no brood::child owns (reaper.hpp); timers that
// fire. Watched fds get their own callbacks. A watched child's exit ends its watch: the child has
// been reaped and its handle is gone when the event is delivered.
//
// Cost: an exit costs O(1) whatever the number of children (epoll on each child's pidfd). A stop or
// continue costs O(1) system calls too, but a SIGCHLD makes the monitor ask the kernel which child
// changed (waitid(P_ALL, WNOWAIT)), and the kernel answers by walking this process's children list;
// for SIGCHLDs that were watched children's exits that walk is put off by up to 10 ms, so a storm of
// exits pays it at most once per 10 ms. See docs/monitor.md, also for the one case that polls every
// watched child.
//
// SIGCHLD and the signal mask: a monitor that reports only exits changes nothing. With report_stops
// or init_of_tree it reads SIGCHLD from a signalfd, never installing a handler: it blocks SIGCHLD
// in the thread that creates it (and restores the mask when destroyed). Every other thread of the
// process must block SIGCHLD too, or the kernel may deliver it there and the monitor never sees it:
// call brood::block_sigchld() in main() before creating threads (threads inherit the mask). SIGCHLD
// must not be ignored (SIG_IGN, SA_NOCLDWAIT: the kernel then reaps children itself) and, with
// report_stops, its handler must not have SA_NOCLDSTOP; the constructor checks and throws. At most
// one monitor per process may use SIGCHLD; any number may report exits only.
//
// Thread safety: one monitor belongs to the thread that created it. Every member function called
// from another thread throws std::logic_error, except post() and stop(), which are made for that:
// post(fn) queues fn to run on the monitor's thread and wakes it (eventfd); from the loop's own
// callbacks it runs at the end of the turn. Destroy it on its thread.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <signal.h>
#include <sys/types.h>

#include <brood/child.hpp>
#include <brood/status.hpp>

namespace brood {

// Blocks SIGCHLD in the calling thread. Call it in main() before any thread exists when a monitor
// reports stops or orphans, so that every thread inherits the blocked mask.
void block_sigchld();

// What to do with a stop or continue of a child this monitor does not watch.
enum class unwatched_stops {
    // Leave it to its owner (default). Cost: while such an event is pending, each SIGCHLD polls
    // every watched child once (O(watched children) system calls) to find the events behind it.
    leave,
    // Consume it and report it as source::unwatched: O(1), but its owner never sees it.
    consume,
};

struct monitor_options {
    bool report_stops = false;    // stopped / continued events: SIGCHLD via signalfd
    // This process is the init of its tree (a subreaper or PID 1, else the constructor throws):
    // every exited child that no brood::child owns, orphans included, is reaped and reported as
    // source::orphan. Only for a process whose other code starts no children (reaper.hpp says why).
    bool init_of_tree = false;
    unwatched_stops unwatched = unwatched_stops::leave;
    // Timers fire on time however far off they are: a timerfd stands for them from the start. The
    // monitor's own waits otherwise end at the earliest timer with the kernel's timer slack, which
    // grows with the wait (0.1 %: a 1 s timer up to 1 ms late). It costs an fd and one system call
    // whenever the earliest deadline changes.
    bool precise_timers = false;
};

class monitor;

namespace detail {
struct monitor_state;
struct posted_task {
    virtual ~posted_task() = default;
    virtual void run(monitor& loop) = 0;
};
}  // namespace detail

class monitor {
public:
    enum class watch_id : std::uint64_t { none = 0 };
    enum class timer_id : std::uint64_t { none = 0 };
    enum class source : std::uint8_t { child, orphan, unwatched, timer };
    using clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds forever{-1};

    struct event {
        source from = source::child;
        pid_t pid = 0;                       // child, orphan, unwatched
        std::optional<wait_status> status;   // child, orphan, unwatched
        watch_id watch = watch_id::none;     // child
        timer_id timer = timer_id::none;     // timer
        std::uint64_t tag = 0;               // as given to watch() or add_timer()
    };
    using handler = std::function<void(const event&)>;
    // revents as epoll reports them (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR ...).
    using fd_callback = std::function<void(int fd, std::uint32_t revents)>;
    // A signal the monitor read for its program (receive_signals).
    struct signal_info {
        int signal = 0;
        int code = 0;      // si_code: SI_USER (kill), SI_QUEUE, SI_KERNEL, ...
        pid_t sender = 0;  // for SI_USER and SI_QUEUE
    };
    using signal_callback = std::function<void(const signal_info&)>;

    explicit monitor(monitor_options options = {});
    monitor(const monitor&) = delete;
    monitor& operator=(const monitor&) = delete;
    // Owned children follow their drop policy (default: killed and reaped); none is left a zombie.
    ~monitor();

    // Readable (POLLIN) whenever run_once(0) or next_event(0) has something to do: an epoll fd.
    // The first call adds a timerfd, so that a due timer makes it readable; a monitor that runs
    // its own waits (run, run_once, next_event) ends them at its earliest timer instead, and holds
    // one fd less. Call it from the monitor's thread; throws std::system_error if no fd is left.
    int fd() const;

    // Takes the child and reports its events under the returned id. Needs a pidfd (Linux >= 5.3).
    // A child reaped already is reported at once. Take the child's pipes first if you watch them.
    watch_id watch(child process, std::uint64_t tag = 0);
    // The watched child, to signal it; nullptr once its exit was reported or for an unknown id.
    child* find(watch_id id);
    // Stops watching and gives the child back (an empty handle for an unknown id).
    child release(watch_id id);
    std::size_t watched() const;

    // A timer fires once, as an event of source::timer; timers due together fire in deadline order,
    // then in the order they were added.
    timer_id add_timer(clock::time_point deadline, std::uint64_t tag = 0);
    timer_id add_timer(clock::duration delay, std::uint64_t tag = 0);
    // False when it already fired (even if its event is still queued) or is unknown.
    bool cancel_timer(timer_id id);

    // Calls callback from the loop while fd is ready for events (level-triggered, EPOLLIN...).
    // The monitor does not own fd: call remove_fd before closing it.
    void add_fd(int fd, std::uint32_t events, fd_callback callback);
    void modify_fd(int fd, std::uint32_t events);
    bool remove_fd(int fd);
    // Calls callback from the loop, as fd callbacks run, for each signal of set that arrives (SIGCHLD,
    // SIGKILL and SIGSTOP excepted). They are read from the signalfd the monitor reads SIGCHLD from,
    // if it does, so a program that takes its signals here holds no signalfd of its own. Blocks
    // them in the calling thread from now on (the destructor unblocks what it blocked): as with
    // SIGCHLD, every other thread must block them too. Once per monitor (std::logic_error after).
    void receive_signals(const sigset_t& set, signal_callback callback);

    // Callback API: run_once waits up to timeout for something to happen, runs fd callbacks and
    // gives every event to the handler; returns the number of events handled. Without a handler
    // the events stay queued for next_event. run() loops until stop() or until no child, timer,
    // fd or signal (receive_signals) is watched any more.
    void on_event(handler h);
    std::size_t run_once(std::chrono::milliseconds timeout = forever);
    void run();
    // Makes run() return after the current iteration. Safe from any thread and from callbacks.
    void stop() noexcept;

    // Pull API: the next event, waiting up to timeout (fd callbacks run meanwhile); nullopt on timeout.
    std::optional<event> next_event(std::chrono::milliseconds timeout = forever);
    // Events queued and not yet handed out.
    std::size_t pending() const;

    // Safe from any thread: runs fn(*this) on the monitor's thread, from run / run_once /
    // next_event, and wakes the loop. Posted from one of the loop's callbacks (the handler, an fd
    // or signal callback), fn runs at the end of that turn instead, without a wake-up; what a posted
    // task posts waits for the next turn, which does not sleep (woken for through the eventfd only
    // once fd() has been asked for). Tasks still queued when the monitor is destroyed are dropped.
    template <class F>
        requires std::invocable<std::decay_t<F>&, monitor&>
    void post(F&& fn) {
        struct task final : detail::posted_task {
            explicit task(F&& f) : fn(std::forward<F>(f)) {}
            void run(monitor& loop) override { fn(loop); }
            std::decay_t<F> fn;
        };
        post_task(std::make_unique<task>(std::forward<F>(fn)));
    }

private:
    void post_task(std::unique_ptr<detail::posted_task> task);
    std::unique_ptr<detail::monitor_state> state_;
};

}  // namespace brood
