// An instance's health checks (health table): when the next one is due, the one that runs, and
// what it says, which goes to step() as health_passed or health_failed. The decisions (counting
// failures, start_period, unhealthy, the restart) are the state table's; this is the running of
// the checks, on brood's loop: one timer while a check is awaited, the check's fd or process and
// its timeout while one runs, nothing in between.
#include <cerrno>
#include <new>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "supervisor/duration.hpp"
#include "supervisor/health_schedule.hpp"
#include "supervisor/instance.hpp"

namespace brood::supervisor {

namespace {

// Checks run while the process runs and can answer: not while it is paused or being stopped.
bool checked_in(state s) { return s == state::starting || s == state::running || s == state::ready; }

}  // namespace

// One timer for the next check, from the start and from the end of each check, so that checks never
// overlap and a slow check delays the next rather than piling up.
void instance::update_health() {
    if (!program_->health || !checked_in(state_.current)) {
        kill_health_check();
        cancel_timer_of(health_interval_kind);
        health_due_ = false;
        return;
    }
    const bool check_runs = health_watch_ != monitor::watch_id::none || health_socket_ || health_due_;
    monitor::timer_id& next = timers_[health_interval_kind];
    if (!check_runs && next == monitor::timer_id::none)
        next = host_.loop().add_timer(next_check_due(monitor::clock::now(), program_->health->interval), timer_tag(health_interval_kind));
}

// Its entry in the queue stays there when the check is no longer wanted (update_health); it then
// starts nothing.
void instance::start_due_health_check() {
    const bool due = health_due_;
    health_due_ = false;
    if (!due || !program_->health || !checked_in(state_.current)) return;
    const health_config& check = *program_->health;
    health_timed_out_ = false;
    health_abandoned_ = false;
    if (check.kind == health_kind::exec) {
        try {
            spawn_health_check();
        } catch (const std::system_error& error) {  // spawn_error too: not found, not executable
            end_health_check(health_result{false, std::string("could not be run: ") + error.what()});
            return;
        } catch (const std::bad_alloc&) {
            end_health_check(health_result{false, "could not be run: out of memory"});
            return;
        }
    } else {
        const auto port = static_cast<std::uint16_t>(*program_->port + index_);
        health_socket_.emplace(port, check.kind == health_kind::http ? std::optional(check.path) : std::nullopt);
        if (health_socket_->result()) {
            end_health_check(health_socket_->result());
            return;
        }
        try {
            watch_health_socket();
        } catch (const std::system_error& error) {
            end_health_check(health_result{false, error.what()});
            return;
        }
    }
    timers_[health_timeout_kind] = host_.loop().add_timer(check.timeout, timer_tag(health_timeout_kind));
}

// health.exec: the command as the program runs, in a process group of its own and, with cgroup
// isolation, in <instance's cgroup>/health (its memory and pids count as the instance's). Its
// stdout and stderr go to the instance's log as stream "health".
// No probe for free fds first: the pipe and the pidfd are all it takes, and each one's EMFILE says
// so as it comes. The pipe's end is given to the check from a low slot (stdio_slots).
void instance::spawn_health_check() {
    join_health_cgroup();
    if (!health_command_) health_command_.emplace(command_like_program(program_->health->argv));
    if (!health_output_) open_health_output();
    health_command_->into_cgroup(health_group_ ? health_group_->fd() : -1);  // -1: none; a killed one is replaced
    child process = host_.child_stdio().spawn(*health_command_, health_output_.get(), health_output_.get());
    const pid_t pid = process.pid();
    health_watch_ = host_.loop().watch(std::move(process), health_check_tag());
    health_pid_ = pid;
}

// In brood's output only where the log itself goes there, in the log's format, marked "health".
void instance::open_health_output() {
    int output[2];
    if (::pipe2(output, O_CLOEXEC) != 0) throw_errno(errno, "pipe for the health checks of " + name_);
    unique_fd read_end(output[0]);
    unique_fd write_end(output[1]);
    relay_output(std::move(read_end), output_stream::health, program_->log.to == log_destination::standard_output);
    health_relay_ = relays_.back().get();
    health_output_ = std::move(write_end);
}

// A check has ended: what it wrote and brood has not read yet is read now, and a last line it did
// not end is passed on as one, so that the next check's output starts a line of its own. What
// cannot be read now (brood's output is full, or it is more than a drain's budget) is read later,
// and the line ends after it all the same.
void instance::end_health_output() {
    if (health_relay_ == nullptr) return;
    if (!health_relay_->should_wait() && drain_relay(*health_relay_) && health_relay_->emptied()) {
        health_relay_->end_line();
        return;
    }
    health_relay_->end_line_after_unread();
}

void instance::watch_health_socket() {
    host_.loop().add_fd(health_socket_->fd(), health_socket_->events(), [this](int fd, std::uint32_t) {
        if (const std::optional<health_result>& result = health_socket_->advance()) {
            end_health_check(result);
            return;
        }
        host_.loop().modify_fd(fd, health_socket_->events());
    });
}

std::string instance::health_timeout_reason() const {
    return "timed out after " + format_duration(program_->health->timeout);
}

void instance::health_check_timed_out() {
    if (health_socket_) {
        end_health_check(health_result{false, health_timeout_reason()});
        return;
    }
    // The process's end, which the kill brings at once, reports the timeout.
    health_timed_out_ = true;
    kill_health_process();
}

// The process of a health.exec check ended: what it left behind (a daemon it forked) is killed with
// its cgroup, and its exit status is the check's result.
void instance::health_check_changed(const wait_status& status) {
    if (!status.terminal()) return;  // stopped or continued: its timeout runs on
    health_watch_ = monitor::watch_id::none;
    health_pid_ = 0;
    end_health_output();
    host_.health_check_done();
    if (health_group_ && health_group_->populated()) kill_health_group();
    // A check killed because it was no longer wanted, or killed with the whole instance (its leader
    // has ended, the instance's end is on its way), says nothing about the program's health.
    if (health_abandoned_ || exit_pending_ || pid_ == 0) {
        health_abandoned_ = false;
        update_health();
        return;
    }
    if (health_timed_out_) {
        end_health_check(health_result{false, health_timeout_reason()});
    } else if (status.code() == 0) {
        end_health_check(health_result{true, {}});
    } else if (status.code()) {
        end_health_check(health_result{false, "exit code " + std::to_string(*status.code())});
    } else {
        end_health_check(health_result{false, status.to_string()});
    }
}

// The check is over: what it used goes, and its result (none for one abandoned) goes to step().
void instance::end_health_check(std::optional<health_result> result) {
    release_health_check();
    health_timed_out_ = false;
    if (!result) {
        update_health();
        return;
    }
    if (result->healthy) {
        handle({event_kind::health_passed});
        return;
    }
    ++health_checks_failed_;
    handle({event_kind::health_failed, brood::exited{0}, std::move(result->why)});
}

// The check's timeout and, for an http or tcp check, its socket go.
void instance::release_health_check() {
    cancel_timer_of(health_timeout_kind);
    if (!health_socket_) return;
    if (health_socket_->fd() >= 0) host_.loop().remove_fd(health_socket_->fd());
    health_socket_.reset();
}

// A cgroup that cgroup.kill was written to is not used again (join_health_cgroup).
void instance::kill_health_group() {
    health_group_->kill();
    health_group_killed_ = true;
}

// SIGKILL to the check's cgroup, or to its process group while its leader is unreaped (the group id
// is the check's own only until then).
void instance::kill_health_process() {
    if (health_group_) {
        kill_health_group();
        return;
    }
    if (unreaped(health_pid_, health_watch_)) ::kill(-health_pid_, SIGKILL);
}

// The check that runs is no longer wanted: a socket is closed at once; a process is killed, and
// reaped by the monitor as any child, its end ignored.
void instance::kill_health_check() {
    release_health_check();
    health_output_.reset();
    health_command_.reset();
    if (health_watch_ != monitor::watch_id::none && !health_abandoned_) {
        health_abandoned_ = true;
        kill_health_process();
    }
}

void instance::health_check_reconfigured() {
    kill_health_check();
    cancel_timer_of(health_interval_kind);
    const health_status before = state_.health;
    state_ = with_new_health_check(std::move(state_), *program_);
    update_health();
    if (state_.health != before) host_.health_changed(*this, before, state_.health);
}

// A cgroup that cgroup.kill was written to is not used again (see launch()): a new one replaces it.
void instance::join_health_cgroup() {
    if (!group_) return;
    if (health_group_killed_) leave_health_cgroup();
    if (!health_group_) health_group_ = cgroup::create(group_->path() / "health");
}

void instance::leave_health_cgroup() noexcept {
    if (!health_group_) return;
    try {
        health_group_->remove();
    } catch (const std::system_error& error) {
        host_.say(name_ + ": " + error.what());
    }
    health_group_.reset();
    health_group_killed_ = false;
}

}  // namespace brood::supervisor
