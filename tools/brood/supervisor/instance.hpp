// One running instance of a program ("web.0"): carries out what step() decides for it.
//
// The instance owns what exists for its process: the watch of its leader in the supervisor's
// monitor, its timers, the relays of its output into its log file and, with cgroup isolation, its
// cgroup. Every event goes through handle(), which applies step() and performs its actions in
// order; events those actions cause (spawned, spawn_failed, start_failed, a pause done by
// cgroup.freeze) are handled right after, and the host hears of each change of state once all of
// that is done.
//
// What a start needs is had when the instance is started, not when it is made: its log file, its
// cgroup with cgroup isolation, its notify socket with ready = "notify" (each made at the first
// start and kept; no log file with log.to = "stdout"), then its two output pipes (stdout,
// stderr) and its process. A start that cannot have them (brood out of file descriptors or
// memory, a log that cannot be opened) is reported to step() as start_failed, with the reason; a
// program that cannot be executed, as spawn_failed.
//
// Each instance leads its own process group (so signals reach its children) and dies with brood
// (PR_SET_PDEATHSIG). With a cgroup, its end is the end of the whole cgroup: when the leader exits,
// what it left in the cgroup is killed, and the exit is reported once the cgroup is empty, so a
// daemonizing grandchild cannot outlive a stop or a restart.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/types.h>

#include <brood/cgroup.hpp>
#include <brood/command.hpp>
#include <brood/monitor.hpp>
#include <brood/status.hpp>

#include "supervisor/config.hpp"
#include "supervisor/health_socket_probe.hpp"
#include "supervisor/instance_usage.hpp"
#include "supervisor/isolation.hpp"
#include "supervisor/log_file.hpp"
#include "supervisor/notify_socket.hpp"
#include "supervisor/output_relay.hpp"
#include "supervisor/pseudo_terminal.hpp"
#include "supervisor/state_machine.hpp"
#include "supervisor/stdio_slots.hpp"
#include "supervisor/tcp_probe.hpp"
#include "supervisor/terminal_client.hpp"

namespace brood::supervisor {

class instance;

// A change of state, as the host reports it.
struct state_change {
    state from;
    state to;
    std::string note;  // why, when the states alone do not say: "exited with code 3; restart in 2s"
};

// What an instance needs from the supervisor that runs it.
class instance_host {
public:
    virtual brood::monitor& loop() = 0;
    virtual const random_source& random() = 0;
    // Where each instance of a program with ready = "notify" has its own NOTIFY_SOCKET.
    virtual std::filesystem::path notify_dir() const = 0;
    // The RLIMIT_NOFILE programs get: the one brood was started with, before it raised its own.
    virtual const rlimit& program_fd_limit() const = 0;
    // One line for brood's own output ("brood: " is added).
    virtual void say(std::string_view line) = 0;
    virtual void changed(instance& which, const state_change& change) = 0;
    // Its health (health_status) went from one to another; why: the last failure, for unhealthy.
    virtual void health_changed(instance& which, health_status from, health_status to) = 0;
    // Low fds for a child's stdio, so that a start or a check costs the same with 50 programs as with
    // 500 (stdio_slots).
    virtual const stdio_slots& child_stdio() const = 0;
    // The health check of `which` has fallen due: it starts when the queue of due checks comes to it
    // (health_check_queue), with start_due_health_check().
    virtual void health_check_due(instance& which) = 0;
    // A health.exec check has ended (its process reaped): the code that ran it may be given back.
    virtual void health_check_done() = 0;
    // Its log could not be written (resumed false), or is written again (log_file::loss_listener).
    virtual void log_changed(instance& which, const log_loss& loss, bool resumed) = 0;
    virtual void essential_ended(instance& which, int code) = 0;
    // The OOM killer killed kills processes of its run, which has ended; why: "out of memory: ...".
    virtual void out_of_memory(instance& which, std::uint64_t kills, const std::string& why) = 0;

protected:
    ~instance_host() = default;
};

struct live_output {
    std::optional<live_prefix> prefix;  // none: output goes to the log only
    stdout_queue* out = nullptr;        // brood's own output, with prefix; outlives the instance
};

class instance {
public:
    // serial names the instance in monitor tags: unique among the supervisor's instances.
    // where: gives the instance its own cgroup, or none (its process group only); outlives it.
    instance(instance_host& host, const program_config& program, unsigned index, std::uint64_t serial,
             std::filesystem::path log_path, live_output live, const isolation& where);
    ~instance();  // its process must have ended (the supervisor stops it first)
    instance(const instance&) = delete;
    instance& operator=(const instance&) = delete;

    void handle(const event& e);
    // From the monitor: the leader's exit, stop or continue; a timer of this instance's.
    void leader_changed(const wait_status& status);
    void timer_fired(monitor::timer_id id, std::uint64_t kind);
    // From the monitor: the process of a health.exec check (watched with health_check_tag()) changed.
    void health_check_changed(const wait_status& status);
    // The queue of due checks has come to this instance's: it starts, if it is still wanted.
    void start_due_health_check();
    // A reload changed the program's health check only: its health starts again under the new one.
    void health_check_reconfigured();
    // Sends signal to the process group (and, with a cgroup, to every process in it).
    bool send(int signal);
    // Passes on what is left in the output pipes, once no process writes to them any more.
    void flush_output();

    // tty = true: its run's pseudo-terminal exists, from its start until its output has ended.
    bool has_terminal() const { return terminal_.has_value(); }
    // Joins a brood attach client's connection to the terminal (which must exist); a client
    // attached already is detached, told why: the last one wins.
    void attach(unique_fd socket, std::string unsent, std::string typed);
    // The terminal's size, for this run and the next ones (TIOCSWINSZ: the program gets SIGWINCH).
    void resize(window_size size);

    const program_config& program() const { return *program_; }
    unsigned index() const { return index_; }
    const std::string& name() const { return name_; }
    std::uint64_t serial() const { return serial_; }
    state current() const { return state_.current; }
    // Nothing runs and nothing is pending: stopped, exited or fatal.
    bool down() const;
    // On its way between states: starting, stopping, or in backoff before a restart.
    bool changing() const;
    pid_t pid() const { return pid_; }
    std::chrono::system_clock::time_point since() const { return since_; }
    std::optional<std::chrono::milliseconds> uptime() const;
    unsigned restarts() const { return restarts_; }
    const std::optional<wait_status>& last_end() const { return state_.last_end; }
    // As status shows it: "killed by SIGKILL (out of memory: memory_max 256M)"; "" before any end.
    std::string last_exit() const { return describe_last_end(state_); }
    // Why its last start failed; empty once a start succeeded.
    const std::string& start_error() const { return state_.start_error; }
    health_status health() const { return state_.health; }
    unsigned health_failures() const { return state_.health_failures; }
    // Health checks that failed since brood started the instance, in every run.
    std::uint64_t health_checks_failed() const { return health_checks_failed_; }
    // Why its last health check failed: "exit code 1", "HTTP 503"; empty when none has.
    const std::string& health_failure() const { return state_.health_failure; }
    // What the program last said on its notify socket (STATUS=..., or that it is stopping or
    // reloading); empty when it said nothing.
    const std::string& notified() const { return notified_; }
    const std::filesystem::path& log_path() const { return log_path_; }
    // Its log, once its first start opened it; never with log.to = "stdout".
    const std::optional<log_file>& log() const { return log_; }
    // Its cgroup, with cgroup isolation, once its first start made it.
    const std::optional<cgroup>& group() const { return group_; }
    // What its process and cgroup use, from files held open (three fds at most).
    const instance_usage& usage() const { return usage_; }
    // What brood adds to its own environment for this instance's process (NOTIFY_SOCKET once the
    // socket exists); brood status NAME --env shows it over brood's own.
    std::map<std::string, std::string> environment() const;

    // Kinds of timers in monitor tags: step()'s three, then the readiness probe, the watchdog, the
    // wait for the next health check and the running check's timeout.
    static constexpr std::uint64_t probe_kind = 3;
    static constexpr std::uint64_t watchdog_kind = 4;
    static constexpr std::uint64_t health_interval_kind = 5;
    static constexpr std::uint64_t health_timeout_kind = 6;
    static constexpr std::uint64_t kinds = 7;
    // The process of a health.exec check is watched with the instance's serial and this bit; the
    // leader, with the serial alone.
    static constexpr std::uint64_t health_check_bit = std::uint64_t{1} << 63;
    std::uint64_t health_check_tag() const { return serial_ | health_check_bit; }
    std::uint64_t timer_tag(std::uint64_t kind) const { return serial_ * kinds + kind; }

private:
    struct pending {
        std::vector<event> events;
        std::vector<state_change> changes;
        std::vector<std::pair<health_status, health_status>> health_changes;
        std::optional<int> essential_code;
    };
    void perform(const action& a, pending& p);
    void spawn(pending& p);
    void launch();
    // argv as the program's own command runs: its environment, directory, user, limits.
    command command_like_program(const std::vector<std::string>& argv) const;
    void join_cgroup();
    void failed_start(event failure, pending& p);
    // A line of brood's own about this instance, as its log writes lines (plain or json).
    std::string own_log_line(std::string_view text) const;
    void signal_for_state_machine(int signal, pending& p);
    void arm(timer which, std::chrono::milliseconds delay);
    void disarm(timer which);
    void cancel_timer_of(std::uint64_t kind);
    void leader_ended(const wait_status& status);
    event end_of_run(const wait_status& status);
    void group_changed();
    void update_probe();
    void update_watchdog(bool fed = false);
    // instance_health.cpp: the health check's schedule and the check that runs.
    void update_health();
    void spawn_health_check();
    void watch_health_socket();
    void health_check_timed_out();
    std::string health_timeout_reason() const;
    void end_health_check(std::optional<health_result> result);
    void release_health_check();
    void kill_health_check();
    void kill_health_process();
    void kill_health_group();
    void open_health_output();
    void end_health_output();
    void join_health_cgroup();
    void leave_health_cgroup() noexcept;
    void leave_cgroup() noexcept;
    void open_notify_socket();
    void read_notifications();
    bool may_notify(pid_t sender) const;
    // pid, of the process watched as watch, still names it (and its process group): the monitor
    // has not reaped it. The leader's (pid_, watch_) and a health check's.
    bool unreaped(pid_t pid, monitor::watch_id watch) const;
    // live: to brood's own output too (behind the instance's prefix), as the program's own output goes.
    void relay_output(unique_fd pipe_read_end, output_stream stream, bool live = true);
    void watch_relay(std::list<std::unique_ptr<output_relay>>::iterator relay);
    // relay.drain(), said in brood's output and taken as its end when the pipe cannot be read.
    bool drain_relay(output_relay& relay);
    void relay_ended(const output_relay* relay);
    void end_terminal(std::string_view why);

    instance_host& host_;
    const program_config* program_;
    unsigned index_;
    std::string name_;
    std::uint64_t serial_;
    instance_state state_;
    std::chrono::system_clock::time_point since_;
    unsigned restarts_ = 0;
    std::uint64_t health_checks_failed_ = 0;
    unsigned spawns_ = 0;
    pid_t pid_ = 0;  // the leader, and its process group; 0 when none runs
    monitor::watch_id watch_ = monitor::watch_id::none;
    std::array<monitor::timer_id, kinds> timers_{};
    std::optional<tcp_probe> probe_;  // while ready = "tcp" is awaited
    std::optional<notify_socket> notify_;  // ready = "notify" or a watchdog: this instance's own NOTIFY_SOCKET
    std::string notified_;  // what the program last said of itself: STATUS=..., STOPPING=1, RELOADING=1
    std::filesystem::path log_path_;
    std::optional<log_file> log_;  // opened at the first start, with log.to = "file"
    live_output live_;
    // Relays outlive their process: a grandchild may still hold the pipe.
    std::list<std::unique_ptr<output_relay>> relays_;
    // tty = true: the current run's terminal, the relay of its output, and the client attached to it.
    std::optional<pseudo_terminal> terminal_;
    const output_relay* terminal_relay_ = nullptr;
    unsigned terminal_runs_ = 0;  // tells the current run's relay from an earlier one's still draining
    std::unique_ptr<terminal_client> attached_;
    window_size window_;
    const isolation* isolation_;
    std::optional<cgroup> group_;  // made at the first start, with cgroup isolation
    instance_usage usage_;  // opened with each process and cgroup, closed when they end
    bool group_killed_ = false;  // cgroup.kill was written to group_: not to be used for another run
    std::optional<bool> freeze_wanted_;        // a pause or resume done by cgroup.freeze, not yet in effect
    bool froze_group_ = false;                 // brood's last write to cgroup.freeze was "1"
    std::optional<wait_status> exit_pending_;  // the leader is gone, its cgroup not yet empty
    std::optional<std::uint64_t> oom_kills_at_start_;  // memory.events' oom_kill when the run started
    // The health check that runs now: a process (health.exec) or a socket (tcp, http), none between checks.
    monitor::watch_id health_watch_ = monitor::watch_id::none;
    pid_t health_pid_ = 0;  // its process, and its process group
    std::optional<health_socket_probe> health_socket_;
    bool health_timed_out_ = false;  // killed at its timeout: its end is reported as the timeout
    bool health_abandoned_ = false;  // killed as no longer wanted (stop, pause, reload): its end says nothing
    bool health_due_ = false;        // in the host's queue of due checks; cleared when no longer wanted
    // health.exec: one pipe for the checks of a run, one check after another, so that a check costs
    // no pipe, no watch of it and no wake-up for its end of file. Its relay ends once the write end
    // is closed (kill_health_check) and no check holds it any more.
    unique_fd health_output_;
    output_relay* health_relay_ = nullptr;
    // health.exec: the check's command, made once a run, as the output pipe is (the configuration a
    // run has cannot change under it: a reload that changes more than the check restarts the run).
    std::optional<command> health_command_;
    // health.exec with cgroup isolation: <instance's cgroup>/health, so that what a check forks can
    // be killed with it; a new one after cgroup.kill was written to it (see launch()).
    std::optional<cgroup> health_group_;
    bool health_group_killed_ = false;
};

}  // namespace brood::supervisor
