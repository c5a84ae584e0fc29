#include <brood/monitor.hpp>

#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "monitor/monitor_state.hpp"
#include "reaper/reap_unowned.hpp"

namespace brood {
namespace detail {

monitor_state::monitor_state(monitor_options opts)
    : options(opts), children(opts.report_stops || opts.init_of_tree), fds(epoll) {
    if (options.init_of_tree) require_adopter("brood::monitor (init_of_tree)");
    check_sigchld_disposition(options.report_stops);
    epoll.add(tasks.fd(), EPOLLIN, make_key(source_kind::wake, 0));
    if (options.report_stops || options.init_of_tree) {
        signals = std::make_unique<signal_source>(true);
        epoll.add(signals->fd(), EPOLLIN, make_key(source_kind::signal, 0));
    }
    if (options.precise_timers) watch_timerfd();
}

void monitor_state::watch_timerfd() {
    if (timerfd_watched) return;
    epoll.add(timers.timerfd(), EPOLLIN, make_key(source_kind::timer, 0));
    timerfd_watched = true;
}

}  // namespace detail

namespace {

void check_thread(const detail::monitor_state& state, const char* what) {
    if (std::this_thread::get_id() != state.owner)
        throw std::logic_error(std::string("brood::monitor::") + what +
                               ": called from a thread that does not own this monitor; a monitor belongs to "
                               "the thread that created it (use post() from other threads)");
}

// run_once and next_event run user callbacks; those must not re-enter the loop.
class busy_guard {
public:
    busy_guard(detail::monitor_state& state, const char* what) : state_(state) {
        check_thread(state, what);
        if (state.busy)
            throw std::logic_error(std::string("brood::monitor::") + what +
                                   ": called from inside a callback of the same monitor; the loop does not nest");
        state.busy = true;
    }
    ~busy_guard() {
        state_.busy = false;
        // Left by a callback that threw before the turn's end: the next turn must not sleep on them.
        if (state_.turn_tasks) {
            state_.turn_tasks = false;
            state_.tasks.wake();
        }
    }
    busy_guard(const busy_guard&) = delete;
    busy_guard& operator=(const busy_guard&) = delete;

private:
    detail::monitor_state& state_;
};

int to_epoll_timeout(std::chrono::milliseconds timeout) noexcept {
    if (timeout.count() < 0) return -1;
    return timeout.count() > INT_MAX ? INT_MAX : static_cast<int>(timeout.count());
}

}  // namespace

monitor::monitor(monitor_options options) : state_(std::make_unique<detail::monitor_state>(options)) {}

monitor::~monitor() {
    // Send every SIGKILL first and reap after (each child's destructor does): the children then
    // die side by side rather than one kill-and-wait at a time.
    state_->children.for_each([](std::uint64_t, detail::watched_child& w) {
        if (w.process.get_drop_policy().what != drop_policy::action::kill) return;
        try {
            w.process.kill();
        } catch (...) {
            // The child's own destructor kills and reaps it below in any case.
        }
    });
}

int monitor::fd() const {
    detail::monitor_state& s = *state_;
    check_thread(s, "fd");
    // An embedding loop waits on the epoll fd alone: from now on a due timer must make it readable,
    // and so must a task queued for the next turn or SIGCHLD work put off (poll_sources).
    s.watch_timerfd();
    s.fd_given = true;
    if (std::exchange(s.next_turn_tasks, false) || s.sigchld_work_due) s.tasks.wake();
    return s.epoll.fd();
}

monitor::watch_id monitor::watch(child process, std::uint64_t tag) {
    check_thread(*state_, "watch");
    if (!process) throw std::invalid_argument("brood::monitor::watch: empty child handle");
    if (auto done = process.exit_status()) {
        const std::uint64_t id = state_->children.insert(std::move(process), tag);
        detail::report_child(*state_, id, *done);
        return watch_id{id};
    }
    const int pidfd = process.pidfd();
    if (pidfd < 0)
        throw std::system_error(ENOSYS, std::system_category(),
                                "brood::monitor::watch: child " + std::to_string(process.pid()) +
                                    " has no pidfd (the monitor needs Linux >= 5.3)");
    const std::uint64_t id = state_->children.insert(std::move(process), tag);
    try {
        state_->epoll.add(pidfd, EPOLLIN | EPOLLONESHOT, detail::make_key(detail::source_kind::child, id));
    } catch (...) {
        state_->children.erase(id);
        throw;
    }
    return watch_id{id};
}

child* monitor::find(watch_id id) {
    check_thread(*state_, "find");
    detail::watched_child* w = state_->children.find(static_cast<std::uint64_t>(id));
    return w == nullptr ? nullptr : &w->process;
}

child monitor::release(watch_id id) {
    check_thread(*state_, "release");
    detail::watched_child* w = state_->children.find(static_cast<std::uint64_t>(id));
    if (w == nullptr) return child();
    state_->epoll.remove(w->process.pidfd());
    return state_->children.erase(static_cast<std::uint64_t>(id));
}

std::size_t monitor::watched() const {
    check_thread(*state_, "watched");
    return state_->children.size();
}

monitor::timer_id monitor::add_timer(clock::time_point deadline, std::uint64_t tag) {
    check_thread(*state_, "add_timer");
    return timer_id{state_->timers.add(deadline, tag)};
}

monitor::timer_id monitor::add_timer(clock::duration delay, std::uint64_t tag) {
    return add_timer(clock::now() + delay, tag);
}

bool monitor::cancel_timer(timer_id id) {
    check_thread(*state_, "cancel_timer");
    return state_->timers.cancel(static_cast<std::uint64_t>(id));
}

void monitor::add_fd(int fd, std::uint32_t events, fd_callback callback) {
    check_thread(*state_, "add_fd");
    state_->fds.add(fd, events, std::move(callback));
}

void monitor::modify_fd(int fd, std::uint32_t events) {
    check_thread(*state_, "modify_fd");
    state_->fds.modify(fd, events);
}

bool monitor::remove_fd(int fd) {
    check_thread(*state_, "remove_fd");
    return state_->fds.remove(fd);
}

void monitor::receive_signals(const sigset_t& set, signal_callback callback) {
    detail::monitor_state& s = *state_;
    check_thread(s, "receive_signals");
    if (s.on_signal) throw std::logic_error("brood::monitor::receive_signals: called a second time");
    if (!callback) throw std::invalid_argument("brood::monitor::receive_signals: empty callback");
    if (s.signals) {
        s.signals->add(set);
    } else {
        auto source = std::make_unique<detail::signal_source>(false);
        source->add(set);
        s.epoll.add(source->fd(), EPOLLIN, detail::make_key(detail::source_kind::signal, 0));
        s.signals = std::move(source);
    }
    s.on_signal = std::make_shared<signal_callback>(std::move(callback));
}

void monitor::on_event(handler h) {
    check_thread(*state_, "on_event");
    state_->handler = h ? std::make_shared<handler>(std::move(h)) : nullptr;
}

std::size_t monitor::run_once(std::chrono::milliseconds timeout) {
    detail::monitor_state& s = *state_;
    busy_guard guard(s, "run_once");
    if (s.queue.empty()) detail::poll_sources(*this, s, to_epoll_timeout(timeout));
    // Held for the whole batch: the handler may replace itself with on_event().
    const std::shared_ptr<handler> h = s.handler;
    if (!h) return 0;
    std::size_t handled = 0;
    while (!s.queue.empty()) {
        const event e = std::move(s.queue.front());
        s.queue.pop_front();
        (*h)(e);
        ++handled;
    }
    if (s.turn_tasks) detail::run_tasks(*this, s);
    return handled;
}

void monitor::run() {
    detail::monitor_state& s = *state_;
    check_thread(s, "run");
    if (!s.handler) throw std::logic_error("brood::monitor::run: no handler; call on_event() first, or use next_event()");
    for (;;) {
        if (s.stop_requested.exchange(false)) return;
        if (s.queue.empty() && s.children.size() == 0 && s.timers.size() == 0 && s.fds.size() == 0 && !s.on_signal)
            return;
        run_once(forever);
    }
}

void monitor::stop() noexcept {
    state_->stop_requested = true;
    state_->tasks.wake();
}

std::optional<monitor::event> monitor::next_event(std::chrono::milliseconds timeout) {
    detail::monitor_state& s = *state_;
    busy_guard guard(s, "next_event");
    const auto deadline = clock::now() + timeout;
    for (bool polled = false; s.queue.empty();) {
        if (s.stop_requested.exchange(false)) return std::nullopt;
        int wait_ms = -1;
        if (timeout >= std::chrono::milliseconds(0)) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
            if (left.count() <= 0 && polled) return std::nullopt;
            wait_ms = to_epoll_timeout(std::max(left, std::chrono::milliseconds(0)));
        }
        detail::poll_sources(*this, s, wait_ms);
        polled = true;
    }
    event e = std::move(s.queue.front());
    s.queue.pop_front();
    if (!s.queue.empty() && !s.wake_rung) {
        s.tasks.wake();  // keeps fd() readable for an embedding loop while events remain
        s.wake_rung = true;
    }
    return e;
}

std::size_t monitor::pending() const {
    check_thread(*state_, "pending");
    return state_->queue.size();
}

// From one of the loop's own callbacks, the task waits for the end of the turn, which is near:
// waking the loop through the eventfd would cost a write, a read and a turn of its own. From a
// task, it waits for the next turn, which does not sleep: the eventfd is needed only when an
// embedding loop waits on fd() rather than on this loop's own wait.
void monitor::post_task(std::unique_ptr<detail::posted_task> task) {
    detail::monitor_state& s = *state_;
    if (std::this_thread::get_id() == s.owner && s.busy && (!s.in_task || !s.fd_given)) {
        s.tasks.push_quietly(std::move(task));
        (s.in_task ? s.next_turn_tasks : s.turn_tasks) = true;
        return;
    }
    s.tasks.push(std::move(task));
}

}  // namespace brood
