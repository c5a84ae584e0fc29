#include "init/init_loop.hpp"

#include <cerrno>
#include <optional>
#include <system_error>

#include <fmt/core.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <brood/command.hpp>
#include <brood/monitor.hpp>
#include <brood/reaper.hpp>

#include "init/descendant_tracker.hpp"
#include "common/descendants.hpp"
#include "init/event_log.hpp"
#include "common/exit_codes.hpp"
#include "common/signal_inbox.hpp"
#include "common/spawn_failure.hpp"
#include "common/startup_pages.hpp"

namespace brood::cli {

namespace {

enum class timer_tag : std::uint64_t { grace, rekill, stop_grace, settled };

// While brood kills what is left, a process forked in the instant of the /proc walk may have been
// missed; it is looked for again at this pace until none is left.
constexpr std::chrono::milliseconds rekill_interval{50};
// Start-up's pages are given back once the program has run this long: a short-lived program (a
// job, a probe) ends before, and brood then spends no faults taking back the code it still runs.
constexpr std::chrono::milliseconds settle_time{200};

class init_loop {
public:
    explicit init_loop(const init_options& options)
        : options_(options),
          pid_one_(::getpid() == 1),
          adopts_orphans_(options.subreaper || pid_one_),
          monitor_(make_monitor(options, pid_one_, adopts_orphans_)) {
        // Blocked from here on, before the spawn, and read through the monitor's own signalfd.
        monitor_.receive_signals(forwarded_signals(), [this](const received_signal& s) { forward(s); });
        if (options.track_tree && options.log != nullptr) tree_.emplace(*options.log);
    }

    int run() {
        child program;
        try {
            program = make_command().spawn();
        } catch (const spawn_error& error) {
            const spawn_failure failure = describe(error);
            fmt::print(stderr, "{}\n", failure.message);
            return failure.exit_code;
        }
        program_pid_ = program.pid();
        give_terminal_to_program();
        if (options_.log != nullptr) {
            lifecycle_event started;
            started.what = lifecycle_event::kind::started;
            started.pid = program_pid_;
            started.command = options_.argv;
            options_.log->write(started);
        }
        if (tree_) tree_->track_program(program_pid_);
        program_watch_ = monitor_.watch(std::move(program));

        if (tree_ && tree_->fd() >= 0)
            monitor_.add_fd(tree_->fd(), EPOLLIN, [this](int, std::uint32_t) { tree_->read_events(); });
        monitor_.on_event([this](const monitor::event& e) { handle(e); });
        monitor_.add_timer(settle_time, static_cast<std::uint64_t>(timer_tag::settled));
        monitor_.run();
        return result_ ? result_->shell_code() : exit_internal;
    }

private:
    static monitor_options make_monitor(const init_options& options, bool pid_one, bool adopts_orphans) {
        if (options.subreaper && !pid_one) become_subreaper();
        monitor_options m;
        m.report_stops = options.report_stops;
        m.init_of_tree = adopts_orphans;  // as a subreaper or PID 1, brood is the init of its tree
        // The only unwatched children are adopted orphans: their stops are ours to see.
        m.unwatched = unwatched_stops::consume;
        return m;
    }

    command make_command() const {
        command cmd(options_.argv.front());
        cmd.args(std::vector<std::string>(options_.argv.begin() + 1, options_.argv.end()));
        if (options_.to_group) cmd.process_group();
        if (options_.death_signal != 0) cmd.die_with_parent(options_.death_signal);
        return cmd;
    }

    // With -g the program's group is not brood's: if brood owns the terminal's foreground, hand it
    // over, or the program could not read the terminal and ^C would not reach it.
    void give_terminal_to_program() {
        if (!options_.to_group || !::isatty(STDIN_FILENO)) return;
        terminal_pgrp_ = ::tcgetpgrp(STDIN_FILENO);
        if (terminal_pgrp_ != ::getpgrp()) return;
        // SIGTTOU is blocked (the monitor receives it), so a background brood would not be stopped here.
        if (::tcsetpgrp(STDIN_FILENO, program_pid_) != 0) terminal_pgrp_ = -1;
    }
    void take_terminal_back() {
        if (terminal_pgrp_ > 0) ::tcsetpgrp(STDIN_FILENO, terminal_pgrp_);
        terminal_pgrp_ = -1;
    }

    void forward(const received_signal& s) {
        if (!should_forward(s) || result_) return;  // the program has ended: nothing to do
        bool sent = false;
        child* program = monitor_.find(program_watch_);
        // Reaped this turn, its exit not handled yet: the group id may name another group now.
        if (program == nullptr || program->exit_status()) return;
        if (options_.to_group) {
            sent = ::kill(-program_pid_, s.signal) == 0;
        } else {
            try {
                sent = program->send_signal(s.signal);
            } catch (const std::system_error&) {
                // EPERM: the program became another user (a setuid program). Not brood's end.
            }
        }
        // A container's stop is a SIGTERM: a program that ignores it is killed --grace later, so
        // that brood ends with a status of its own before the runtime's SIGKILL takes everyone.
        if (sent && s.signal == SIGTERM && !stop_grace_armed_) {
            stop_grace_armed_ = true;
            monitor_.add_timer(options_.grace, static_cast<std::uint64_t>(timer_tag::stop_grace));
        }
        if (sent && options_.report_forwarding) {
            lifecycle_event e;
            e.what = lifecycle_event::kind::forwarded;
            e.pid = program_pid_;
            e.signal = s.signal;
            e.group = options_.to_group;
            options_.log->write(e);
        }
    }

    void handle(const monitor::event& e) {
        switch (e.from) {
            case monitor::source::child:
                if (options_.log != nullptr && (options_.report_stops || e.status->terminal()))
                    options_.log->write(lifecycle_event::from_status(e.pid, *e.status));
                if (e.status->terminal()) program_ended(*e.status);
                break;
            case monitor::source::orphan:
            case monitor::source::unwatched:
                report_orphan(e.pid, *e.status);
                if (result_) finish_if_alone();
                break;
            case monitor::source::timer:
                if (static_cast<timer_tag>(e.tag) == timer_tag::settled) {
                    drop_startup_pages();
                    break;
                }
                if (static_cast<timer_tag>(e.tag) == timer_tag::stop_grace) {
                    kill_program_after_grace();
                    break;
                }
                if (static_cast<timer_tag>(e.tag) == timer_tag::grace) {
                    signal_leftovers(SIGKILL);
                } else {
                    signal_descendants(SIGKILL);
                }
                if (!finish_if_alone())
                    monitor_.add_timer(rekill_interval, static_cast<std::uint64_t>(timer_tag::rekill));
                break;
        }
    }

    // The program outlived --grace after a forwarded SIGTERM: SIGKILL, to its group with -g.
    void kill_program_after_grace() {
        child* program = monitor_.find(program_watch_);
        if (result_ || program == nullptr || program->exit_status()) return;
        grace_spent_ = true;
        if (options_.log != nullptr) {
            lifecycle_event e;
            e.what = lifecycle_event::kind::terminating;
            e.pid = proc_self_pid();
            e.signal = SIGKILL;
            e.count = 1;
            options_.log->write(e);
        }
        if (options_.to_group) ::kill(-program_pid_, SIGKILL);
        program->kill();
    }

    void report_orphan(pid_t pid, const wait_status& status) {
        if (tree_) {
            tree_->orphan_event(pid, status);
        } else if (options_.log != nullptr && (status.terminal() || options_.report_stops)) {
            lifecycle_event event = lifecycle_event::from_status(pid, status);
            event.adopted = status.terminal();
            options_.log->write(event);
        }
    }

    void program_ended(const wait_status& status) {
        result_ = status;
        take_terminal_back();
        if (!adopts_orphans_) {
            end();
            return;
        }
        // The common end: the program left nothing behind. No child means no descendant at all, so
        // brood exits at once, without walking /proc for processes to signal (a dozen system calls).
        if (finish_if_alone()) return;
        if (grace_spent_) {
            // The stop's --grace has run out already: what the program left gets no second one.
            signal_leftovers(SIGKILL);
            if (!finish_if_alone()) monitor_.add_timer(rekill_interval, static_cast<std::uint64_t>(timer_tag::rekill));
            return;
        }
        signal_leftovers(SIGTERM);
        if (!finish_if_alone()) monitor_.add_timer(options_.grace, static_cast<std::uint64_t>(timer_tag::grace));
    }

    void signal_leftovers(int signal) {
        const std::size_t count = signal_descendants(signal);
        if (count > 0 && options_.log != nullptr) {
            lifecycle_event e;
            e.what = lifecycle_event::kind::terminating;
            e.pid = proc_self_pid();
            e.signal = signal;
            e.count = count;
            options_.log->write(e);
        }
    }

    // Ends the loop once brood has no child left, zombie or not; every descendant has then been reaped
    // (a dying process's children are handed to brood before it becomes a zombie).
    bool finish_if_alone() {
        if (has_children()) return false;
        end();
        return true;
    }

    // Events still queued in this turn (an orphan reaped with the program) are reported first.
    void end() {
        if (options_.leave && monitor_.pending() == 0) options_.leave(result_->shell_code());
        monitor_.stop();
    }

    const init_options& options_;
    const bool pid_one_;
    const bool adopts_orphans_;
    std::optional<descendant_tracker> tree_;
    monitor monitor_;
    monitor::watch_id program_watch_ = monitor::watch_id::none;
    pid_t program_pid_ = 0;
    pid_t terminal_pgrp_ = -1;
    std::optional<wait_status> result_;
    bool stop_grace_armed_ = false;
    bool grace_spent_ = false;  // the program was killed --grace after a forwarded SIGTERM
};

}  // namespace

int run_as_init(const init_options& options) { return init_loop(options).run(); }

}  // namespace brood::cli
