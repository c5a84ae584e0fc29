#include "supervisor/instance.hpp"

#include <algorithm>
#include <cerrno>
#include <new>
#include <system_error>
#include <type_traits>
#include <variant>

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <brood/command.hpp>
#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "common/exit_codes.hpp"
#include "common/spawn_failure.hpp"
#include "supervisor/fd_limit.hpp"
#include "supervisor/instance_environment.hpp"
#include "supervisor/out_of_memory.hpp"
#include "common/timestamp.hpp"

namespace brood::supervisor {

namespace {

// How often a program with ready = "tcp" is probed while it runs and is not ready yet.
constexpr std::chrono::milliseconds probe_interval{100};

}  // namespace

instance::instance(instance_host& host, const program_config& program, unsigned index, std::uint64_t serial,
                   std::filesystem::path log_path, live_output live, const isolation& where)
    : host_(host),
      program_(&program),
      index_(index),
      name_(program.name + "." + std::to_string(index)),
      serial_(serial),
      since_(std::chrono::system_clock::now()),
      log_path_(std::move(log_path)),
      live_(std::move(live)),
      isolation_(&where) {}

instance::~instance() {
    kill_health_check();
    if (notify_) host_.loop().remove_fd(notify_->fd());
    for (const monitor::timer_id id : timers_)
        if (id != monitor::timer_id::none) host_.loop().cancel_timer(id);
    for (const auto& relay : relays_) host_.loop().remove_fd(relay->fd());
    // The supervisor destroys an instance once it is down; a leader still watched (brood itself
    // failing) is killed and reaped by the monitor's drop policy.
    if (watch_ != monitor::watch_id::none) host_.loop().release(watch_);
    leave_cgroup();
}

// Removes the instance's cgroup, which must be empty.
void instance::leave_cgroup() noexcept {
    if (!group_) return;
    usage_.cgroup_left();
    leave_health_cgroup();
    host_.loop().remove_fd(group_->events_fd());
    try {
        group_->remove();
    } catch (const std::system_error& error) {
        host_.say(name_ + ": " + error.what());
    }
    group_.reset();
    group_killed_ = false;
    froze_group_ = false;
}

bool instance::down() const {
    return state_.current == state::stopped || state_.current == state::exited || state_.current == state::fatal ||
           state_.current == state::completed;
}

bool instance::changing() const {
    return state_.current == state::starting || state_.current == state::stopping || state_.current == state::backoff;
}

std::optional<std::chrono::milliseconds> instance::uptime() const {
    if (pid_ == 0) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - state_.spawned_at);
}

void instance::handle(const event& first) {
    pending p;
    p.events.push_back(first);
    for (std::size_t i = 0; i < p.events.size(); ++i) {
        const event e = p.events[i];
        const state from = state_.current;
        const health_status health_before = state_.health;
        transition t = step(state_, e, *program_, clock::now(), host_.random());
        state_ = std::move(t.next);
        if (state_.health != health_before) p.health_changes.emplace_back(health_before, state_.health);
        // The end of a run says why the state changed; the note says what comes next.
        std::string note;
        if (e.kind == event_kind::exited) note = e.status.to_string() + (e.why.empty() ? "" : " (" + e.why + ")");
        if (!t.note.empty()) note += (note.empty() ? "" : "; ") + t.note;
        if (state_.current != from) {
            since_ = std::chrono::system_clock::now();
            p.changes.push_back({from, state_.current, std::move(note)});
        } else if (!t.note.empty()) {
            host_.say(name_ + ": " + t.note);
        }
        for (const action& a : t.actions) perform(a, p);
    }
    update_probe();
    update_watchdog();
    update_health();
    for (const state_change& change : p.changes) host_.changed(*this, change);
    for (const auto& [from, to] : p.health_changes) host_.health_changed(*this, from, to);
    if (p.essential_code) host_.essential_ended(*this, *p.essential_code);
}

void instance::perform(const action& a, pending& p) {
    std::visit(
        [&](const auto& act) {
            using type = std::decay_t<decltype(act)>;
            if constexpr (std::is_same_v<type, spawn_instance>) {
                spawn(p);
            } else if constexpr (std::is_same_v<type, send_signal>) {
                signal_for_state_machine(act.signal, p);
            } else if constexpr (std::is_same_v<type, arm_timer>) {
                arm(act.which, act.delay);
            } else if constexpr (std::is_same_v<type, cancel_timer>) {
                disarm(act.which);
            } else if constexpr (std::is_same_v<type, essential_exit>) {
                p.essential_code = act.code;
            }
        },
        a);
}

// The state machine hears how the start went: spawned; spawn_failed when the program could not be
// executed (the code a shell would give); start_failed when brood could not prepare the start, in
// the parent, before or while creating the process.
void instance::spawn(pending& p) {
    try {
        launch();
    } catch (const spawn_error& error) {
        if (error.stage() == spawn_stage::prepare || error.stage() == spawn_stage::clone)
            failed_start({event_kind::start_failed, brood::exited{cli::exit_internal}, error.what()}, p);
        else
            failed_start({event_kind::spawn_failed, brood::exited{cli::describe(error).exit_code}, error.what()}, p);
        return;
    } catch (const std::system_error& error) {
        failed_start({event_kind::start_failed, brood::exited{cli::exit_internal}, error.what()}, p);
        return;
    } catch (const std::bad_alloc&) {
        failed_start({event_kind::start_failed, brood::exited{cli::exit_internal}, "out of memory"}, p);
        return;
    }
    p.events.push_back({event_kind::spawned});
}

std::map<std::string, std::string> instance::environment() const {
    std::map<std::string, std::string> variables = instance_environment(*program_, index_);
    if (notify_) variables["NOTIFY_SOCKET"] = notify_->path().string();
    // As systemd's, but without WATCHDOG_PID: the environment is made before the program's pid
    // exists, and sd_watchdog_enabled() takes a missing WATCHDOG_PID as "this process".
    if (program_->watchdog) variables["WATCHDOG_USEC"] = std::to_string(program_->watchdog->count() * 1000);
    return variables;
}

// Throws what stopped the start. What it took for this start alone (the pipe, the process) is
// given back by the unwinding: a process already spawned is killed and reaped by its handle.
void instance::launch() {
    require_free_fds(fd_reserve);
    if (!log_ && program_->log.to == log_destination::file)
        log_.emplace(
            log_path_, program_->log, [this](const log_loss& loss, bool resumed) { host_.log_changed(*this, loss, resumed); },
            [this](std::string_view note) { return own_log_line(note); });
    // A cgroup that cgroup.kill was written to is not used again: this kernel (6.18) kills every
    // process later cloned into it with CLONE_INTO_CGROUP, whose kill count it checks against
    // brood's own cgroup's. So the next run gets a new one; the old one is empty by now.
    if (group_killed_) leave_cgroup();
    if (!group_) join_cgroup();
    const program_config& program = *program_;
    if (program.ready == ready_check::notify || program.watchdog) open_notify_socket();
    command cmd = command_like_program(program.argv);
    notified_.clear();
    // One pipe per stream: each keeps the order of its lines, and the log says which stream a line is of.
    // With tty = true, one terminal for all three: a pipe would make programs buffer and drop colours.
    unique_fd out_read, out_write, err_read, err_write, terminal_read;
    std::optional<pseudo_terminal> terminal;
    if (program.tty) {
        terminal.emplace(name_);
        if (program.user) terminal->give_to(*program.user);
        terminal->resize(window_);
        terminal_read = terminal->reader();
    } else {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw_errno(errno, "pipe for the output of " + name_);
        out_read.reset(out[0]);
        out_write.reset(out[1]);
        int err[2];
        if (::pipe2(err, O_CLOEXEC) != 0) throw_errno(errno, "pipe for the errors of " + name_);
        err_read.reset(err[0]);
        err_write.reset(err[1]);
    }
    if (group_) cmd.into_cgroup(group_->fd());
    oom_kills_at_start_ = group_ ? oom_kills(group_->fd()) : std::nullopt;
    // The terminal or the pipes are given from low slots: the child then copies few of brood's fds.
    const stdio_slots& slots = host_.child_stdio();
    child process = terminal ? slots.spawn_on_terminal(cmd, terminal->slave()) : slots.spawn(cmd, out_write.get(), err_write.get());
    const pid_t pid = process.pid();
    if (terminal) {
        // brood must not hold the slave: the master reads EIO once the program's side is closed.
        terminal->close_slave();
        end_terminal("its program was started again");
        terminal_ = std::move(terminal);
        ++terminal_runs_;
        relay_output(std::move(terminal_read), output_stream::tty);
        terminal_relay_ = relays_.back().get();
    } else {
        relay_output(std::move(out_read), output_stream::out);
        relay_output(std::move(err_read), output_stream::err);
    }
    watch_ = host_.loop().watch(std::move(process), serial_);
    pid_ = pid;
    usage_.process_started(pid);
    if (spawns_++ > 0) ++restarts_;
}

command instance::command_like_program(const std::vector<std::string>& argv) const {
    const program_config& program = *program_;
    command cmd(argv.front());
    cmd.args(std::vector<std::string>(argv.begin() + 1, argv.end()));
    cmd.cwd(program.directory);
    // All resolved at load: the user database is not read again at each start.
    if (program.user) cmd.user(*program.user).supplementary_groups(program.groups);
    if (program.group) cmd.group(*program.group);
    if (program.umask) cmd.umask(*program.umask);
    for (const auto& [key, value] : environment()) cmd.env(key, value);
    cmd.process_group().die_with_parent(SIGKILL);
    const rlimit& fd_limit = host_.program_fd_limit();
    cmd.rlimit(RLIMIT_NOFILE, fd_limit.rlim_cur, fd_limit.rlim_max);
    for (const resource_limit& limit : program.limits) cmd.rlimit(limit.resource, limit.soft, limit.hard);
    return cmd;
}

// With cgroup isolation: the instance's own cgroup, watched for its events.
void instance::join_cgroup() {
    const std::vector<cgroup_limit>& limits = program_->cgroup_limits;
    const std::optional<std::filesystem::path> base = isolation_->path();
    if (!limits.empty() && !base)
        throw std::system_error(ENOTSUP, std::generic_category(), "cgroup limits without a cgroup of brood's own");
    // The controllers the limits need, enabled down to the instance's group: in the cgroup brood
    // was started in, then in brood's own.
    for (const cgroup_limit& limit : limits)
        for (const std::filesystem::path& dir : {base->parent_path(), *base}) enable_controller(dir, controller_of(limit.file));
    std::optional<cgroup> made = isolation_->for_instance(name_);
    if (!made) return;
    try {
        write_cgroup_limits(made->path(), limits);
    } catch (const std::system_error&) {
        made->remove();  // empty: nothing was started in it
        throw;
    }
    try {
        host_.loop().add_fd(made->events_fd(), EPOLLPRI, [this](int, std::uint32_t) { group_changed(); });
    } catch (const std::system_error&) {
        try {
            made->remove();  // empty: nothing was started in it
        } catch (const std::system_error& error) {
            host_.say(name_ + ": " + error.what());
        }
        throw;
    }
    group_ = std::move(made);
    usage_.cgroup_made(*group_);
}

// In the log's format, so that a json log stays one object per line.
std::string instance::own_log_line(std::string_view text) const {
    std::string line;
    const std::string time = cli::timestamp(std::chrono::system_clock::now());
    append_log_line(line, program_->log, {name_, output_stream::brood, time}, text, true, true);
    return line;
}

// Why a start failed goes to the instance's log, when it is open, and in the state machine's note
// to brood's output and the events.
void instance::failed_start(event failure, pending& p) {
    if (log_) {
        try {
            log_->write(own_log_line("brood: " + failure.why));
        } catch (const std::system_error&) {
            // The note carries it all the same.
        }
    }
    p.events.push_back(std::move(failure));
}

// The socket is the instance's own, so a message on it speaks for this instance even when its
// sender has exited by the time brood reads it, as systemd-notify run from a script has: one
// shared socket could only tell instances apart by finding the sender in them. What an earlier
// run of the program left unread is dropped before each start.
void instance::open_notify_socket() {
    if (notify_) {
        while (notify_->receive()) {
        }
        return;
    }
    notify_.emplace(host_.notify_dir() / (std::to_string(serial_) + ".sock"), program_->user);
    try {
        host_.loop().add_fd(notify_->fd(), EPOLLIN, [this](int, std::uint32_t) { read_notifications(); });
    } catch (const std::system_error&) {
        notify_.reset();
        throw;
    }
}

void instance::read_notifications() {
    while (const std::optional<notify_socket::message> m = notify_->receive()) {
        if (!may_notify(m->sender)) {
            const char* what = m->ready ? "READY=1" : m->watchdog ? "WATCHDOG=1" : "a notification";
            host_.say(name_ + ": " + what + " from pid " + std::to_string(m->sender) + ", not of this instance: ignored");
            continue;
        }
        if (m->status) notified_ = *m->status;
        if (m->stopping) notified_ = "stopping by itself";
        if (m->reloading) notified_ = "reloading";
        if (m->watchdog) update_watchdog(true);
        if (m->ready) {
            if (m->reloading || notified_ == "reloading") notified_.clear();
            if (program_->ready == ready_check::notify) handle({event_kind::ready_signalled});
        }
    }
}

// A process of the instance may say READY=1, and so may one already gone (exited, or a zombie
// its parent has not reaped): only the instance's processes were given the path. A live stranger
// that learned it may not. The process group is looked at before the cgroup: cgroup.procs no
// longer lists a process that is exiting and not yet a zombie, as a helper that has just sent is.
bool instance::may_notify(pid_t sender) const {
    // The leader itself, the usual sender, needs no look in /proc: its pid is its own until reaped.
    if (sender == pid_ && unreaped(pid_, watch_)) return true;
    const std::optional<proc::process_info> info = proc::read_process(sender);
    if (!info || info->state == 'Z' || info->state == 'X' || info->pgid == pid_) return true;
    if (!group_) return false;
    const std::vector<pid_t> members = group_->pids();
    return std::find(members.begin(), members.end(), sender) != members.end();
}

void instance::relay_output(unique_fd pipe_read_end, output_stream stream, bool live) {
    relay_destination to{log_ ? &*log_ : nullptr, &program_->log, name_, stream, live ? live_.prefix : std::nullopt, live_.out,
                         [] { return cli::timestamp(std::chrono::system_clock::now()); }, {}};
    if (stream == output_stream::tty)
        to.mirror = [this, run = terminal_runs_](std::string_view bytes) {
            if (run == terminal_runs_ && attached_) attached_->show(bytes);
        };
    relays_.push_back(std::make_unique<output_relay>(std::move(pipe_read_end), std::move(to)));
    const auto where = std::prev(relays_.end());
    try {
        watch_relay(where);
    } catch (const std::system_error&) {
        relays_.erase(where);
        throw;
    }
}

// While brood's own output is full, the relay's pipe is not watched: the program waits on it.
void instance::watch_relay(std::list<std::unique_ptr<output_relay>>::iterator where) {
    const auto drain = [this, where](int fd, std::uint32_t) {
        const bool open = drain_relay(**where);
        if (open && !(*where)->should_wait()) return;
        host_.loop().remove_fd(fd);
        if (open) {
            (*where)->wait([this, where] { watch_relay(where); });
            return;
        }
        relay_ended(where->get());
        relays_.erase(where);
    };
    host_.loop().add_fd((*where)->fd(), EPOLLIN, drain);
}

void instance::flush_output() {
    for (const auto& relay : relays_) {
        host_.loop().remove_fd(relay->fd());
        // Bounded: a writer that escaped brood could keep the pipe open for ever.
        for (int round = 0; round < 64 && drain_relay(*relay); ++round) {
        }
        relay_ended(relay.get());
    }
    relays_.clear();
}

bool instance::drain_relay(output_relay& relay) {
    try {
        return relay.drain();
    } catch (const std::system_error& error) {  // the pipe cannot be read: nothing more comes
        host_.say(name_ + ": output lost: " + error.what());
        return false;
    }
}

// The terminal's output has ended: no process has it open any more.
void instance::relay_ended(const output_relay* relay) {
    if (relay == terminal_relay_) end_terminal("its program ended");
    if (relay == health_relay_) health_relay_ = nullptr;
}

void instance::end_terminal(std::string_view why) {
    if (attached_) attached_->end(why);
    attached_.reset();
    terminal_.reset();
    terminal_relay_ = nullptr;
}

void instance::attach(unique_fd socket, std::string unsent, std::string typed) {
    if (attached_) attached_->end("detached: another client attached");
    attached_.reset();
    attached_ = std::make_unique<terminal_client>(host_.loop(), std::move(socket), terminal_->master(), name_,
                                                  std::move(unsent), std::move(typed), [this] { attached_.reset(); });
    if (attached_->left()) attached_.reset();
}

void instance::resize(window_size size) {
    window_ = size;
    if (terminal_) terminal_->resize(size);
}

// With process groups, a pause is SIGSTOP, whose effect the kernel reports as the leader's stop
// (back through leader_changed). With a cgroup, a pause freezes all of it, daemonized descendants
// included, and is reported once the kernel says the cgroup is frozen; SIGKILL is cgroup.kill.
void instance::signal_for_state_machine(int signal, pending& p) {
    if (!group_ || pid_ == 0 || (signal != SIGSTOP && signal != SIGCONT && signal != SIGKILL)) {
        send(signal);
        return;
    }
    if (signal == SIGKILL) {
        group_->kill();
        group_killed_ = true;
        return;
    }
    const bool freeze = signal == SIGSTOP;
    if (!freeze) send(SIGCONT);  // a process stopped by a signal from outside needs it still
    // A thaw is written only to a group that brood froze or that is frozen: the SIGCONT that follows
    // every stop signal then costs a read of cgroup.events, not an open and a write of cgroup.freeze.
    const bool write = freeze || froze_group_ || group_->frozen();
    if (write) {
        group_->freeze(freeze);
        froze_group_ = freeze;
    }
    freeze_wanted_ = freeze;
    if (!write || group_->frozen() == freeze) {
        freeze_wanted_.reset();
        p.events.push_back(freeze ? event{event_kind::stopped_by_signal, brood::stopped{SIGSTOP}}
                                  : event{event_kind::continued});
    }
}

bool instance::send(int signal) {
    // The group id names this instance's group only while its leader is unreaped: a zombie leader
    // still holds the id, a reaped one lets it go to a new process. The monitor may reap the leader
    // in the turn in which a control request asks for a signal, before the exit reaches the state
    // machine; then nothing is sent, and the exit that is on its way decides what happens next.
    return unreaped(pid_, watch_) && ::kill(-pid_, signal) == 0;
}

bool instance::unreaped(pid_t pid, monitor::watch_id watch) const {
    const child* process = host_.loop().find(watch);
    return pid != 0 && process != nullptr && !process->exit_status();
}

// cgroup.events changed: reading it is what clears the fd's readiness, so both flags come from
// the one read (a second could take the readiness of a change that came between them).
void instance::group_changed() {
    const auto [populated, frozen] = group_->events();
    if (freeze_wanted_ && *freeze_wanted_ == frozen) {
        freeze_wanted_.reset();
        handle(frozen ? event{event_kind::stopped_by_signal, brood::stopped{SIGSTOP}} : event{event_kind::continued});
    }
    if (exit_pending_ && !populated) {
        const wait_status status = *exit_pending_;
        exit_pending_.reset();
        handle(end_of_run(status));
    }
}

void instance::arm(timer which, std::chrono::milliseconds delay) {
    disarm(which);
    const auto kind = static_cast<std::uint64_t>(which);
    timers_[kind] = host_.loop().add_timer(delay, timer_tag(kind));
}

void instance::disarm(timer which) { cancel_timer_of(static_cast<std::uint64_t>(which)); }

void instance::cancel_timer_of(std::uint64_t kind) {
    monitor::timer_id& id = timers_[kind];
    if (id != monitor::timer_id::none) host_.loop().cancel_timer(id);
    id = monitor::timer_id::none;
}

void instance::timer_fired(monitor::timer_id id, std::uint64_t kind) {
    if (kind >= kinds || timers_[kind] != id) return;  // cancelled or replaced meanwhile
    timers_[kind] = monitor::timer_id::none;
    if (kind == watchdog_kind) {
        handle({event_kind::watchdog_missed});
        return;
    }
    if (kind == health_interval_kind) {
        health_due_ = true;
        host_.health_check_due(*this);
        return;
    }
    if (kind == health_timeout_kind) {
        health_check_timed_out();
        return;
    }
    if (kind != probe_kind) {
        handle({timer_event(static_cast<timer>(kind))});
        return;
    }
    if (state_.current == state::running && probe_ && probe_->check())
        handle({event_kind::ready_signalled});
    else
        update_probe();
}

// The watchdog runs while the program does (starting, running, ready; not while it is paused, when
// it cannot send): armed when it starts, armed anew by each WATCHDOG=1 (fed), gone otherwise.
void instance::update_watchdog(bool fed) {
    const state s = state_.current;
    const bool wanted = program_->watchdog && (s == state::starting || s == state::running || s == state::ready);
    monitor::timer_id& id = timers_[watchdog_kind];
    if (id != monitor::timer_id::none && (!wanted || fed)) {
        host_.loop().cancel_timer(id);
        id = monitor::timer_id::none;
    }
    if (wanted && id == monitor::timer_id::none) id = host_.loop().add_timer(*program_->watchdog, timer_tag(watchdog_kind));
}

// A program with ready = "tcp" is probed only while it runs and is not ready yet.
void instance::update_probe() {
    const bool wanted = program_->ready == ready_check::tcp && program_->port && state_.current == state::running;
    const auto port = wanted ? static_cast<std::uint16_t>(*program_->port + index_) : std::uint16_t{0};
    if (!wanted || (probe_ && probe_->port() != port)) probe_.reset();
    if (wanted && !probe_) probe_.emplace(port);
    monitor::timer_id& id = timers_[probe_kind];
    if (wanted && id == monitor::timer_id::none) {
        id = host_.loop().add_timer(probe_interval, timer_tag(probe_kind));
    } else if (!wanted && id != monitor::timer_id::none) {
        host_.loop().cancel_timer(id);
        id = monitor::timer_id::none;
    }
}

void instance::leader_changed(const wait_status& status) {
    if (status.stopped_signal()) {
        handle({event_kind::stopped_by_signal, status});
    } else if (status.continued()) {
        handle({event_kind::continued});
    } else {
        leader_ended(status);
    }
}

// With a cgroup, the instance has ended when its cgroup is empty: what the leader left there is
// killed now, and the exit is reported once the kernel says nothing is left.
void instance::leader_ended(const wait_status& status) {
    watch_ = monitor::watch_id::none;
    pid_ = 0;
    usage_.process_ended();
    freeze_wanted_.reset();
    // One read: a second one (for frozen) could take the readiness of the cgroup's emptying, which
    // is what the exit now waits for (group_changed), and brood would wait for ever.
    const cgroup::events_state now = group_ ? group_->events() : cgroup::events_state{};
    if (now.populated) {
        if (froze_group_ || now.frozen) group_->freeze(false);
        froze_group_ = false;
        group_->kill();
        group_killed_ = true;
        exit_pending_ = status;
        return;
    }
    handle(end_of_run(status));
}

// The exit, with what brood knows of its cause: the OOM killer's kills in the run's cgroup.
event instance::end_of_run(const wait_status& status) {
    event ended{event_kind::exited, status};
    // No count at the start (no memory controller in the cgroup): none to compare with at the end.
    if (!group_ || !oom_kills_at_start_) return ended;
    const std::optional<std::uint64_t> after = oom_kills(group_->fd());
    ended.why = out_of_memory_cause(oom_kills_at_start_, after, *program_);
    if (!ended.why.empty()) host_.out_of_memory(*this, *after - *oom_kills_at_start_, ended.why);
    return ended;
}

}  // namespace brood::supervisor
