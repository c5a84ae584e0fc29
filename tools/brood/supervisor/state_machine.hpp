// What the supervisor does with one instance of a program: a pure table actions[state][event], in
// the manner of s6-supervise, so that every state × event pair is decided and none by accident.
//
//   brood::supervisor::transition t = step(instance, event, program, now, random);
//   instance = t.next;                  // next.since is `now` when the state changed
//   for (const auto& a : t.actions) ... // carry them out, in order
//
// step() reads no clock, starts no process and does no I/O: the caller passes the time, and a
// source of random numbers for the backoff's jitter, which tests replace with a fixed one.
//
// The caller's side of the contract:
//  - after spawn_instance, report spawned, spawn_failed or start_failed before any other event of
//    the instance;
//  - each instance leads its own process group, and send_signal goes to the whole group;
//  - arm_timer replaces a pending timer of the same kind; report its expiry as the event
//    timer_event() names, unless cancel_timer came first;
//  - report the instance's end, stop and continue as exited, stopped_by_signal and continued,
//    whoever caused them (a SIGSTOP from outside pauses the program as a pause request does).
//
// docs/config.md has the table as users see it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <brood/status.hpp>

#include "supervisor/config.hpp"

namespace brood::supervisor {

using clock = std::chrono::steady_clock;

enum class state : std::uint8_t {
    stopped,   // not running, nothing pending (the start, and after a requested stop)
    starting,  // spawned, not yet up for start_seconds
    running,   // up for start_seconds, not yet ready (ready = "tcp" or "notify")
    ready,     // programs that depend on it may start
    paused,    // stopped by SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU, whoever sent it
    backoff,   // ended, and waiting to be restarted
    stopping,  // sent its stop signal; SIGKILL to the group after stop_timeout
    exited,    // ended by itself, and its restart policy says not to restart it
    fatal,     // reached its start limit; only a start request starts it again
    completed, // ended by itself with a success code, and its restart policy says not to restart it
};
inline constexpr std::size_t state_count = 10;

enum class event_kind : std::uint8_t {
    start_requested,
    stop_requested,
    spawned,
    spawn_failed,            // the program could not be executed; status: the code a shell would give
                             // (126 not executable, 127 not found)
    start_failed,            // brood could not prepare the start (file descriptors, memory, the log, the
                             // notify socket): the program was never tried; status: brood's code (125)
    start_seconds_elapsed,
    ready_signalled,         // its port accepted a connection, or it sent READY=1
    exited,                  // status: exited or killed
    stopped_by_signal,       // status: the stop
    continued,
    stop_timeout,
    backoff_elapsed,
    pause_requested,
    resume_requested,
    shutdown_timeout,        // the whole shutdown's budget is spent: kill what is left, now
    watchdog_missed,         // no WATCHDOG=1 within the program's watchdog period
    health_passed,           // a health check passed
    health_failed,           // a health check failed; why: "exit code 1", "HTTP 503", "timed out after 5s"...
};
inline constexpr std::size_t event_kind_count = 18;

// What the health check says of a process that runs: a flag beside the state, not a state, so that
// starting, running and ready keep their meaning (for readiness and dependants) whatever the check says.
enum class health_status : std::uint8_t {
    none,       // no health check, or no process
    starting,   // no check has passed since the process started
    healthy,    // the last check passed
    unhealthy,  // retries checks in a row failed, start_period over
};

struct event {
    event_kind kind;
    wait_status status = brood::exited{0};  // for spawn_failed, start_failed, exited and stopped_by_signal
    std::string why{};                       // for spawn_failed, start_failed and health_failed: what failed;
                                             // for exited: what brood knows ended it ("out of memory: ..."), or ""
};

enum class timer : std::uint8_t { start_seconds, stop_timeout, backoff };

// The event the expiry of a timer is reported as.
constexpr event_kind timer_event(timer t) {
    switch (t) {
        case timer::start_seconds: return event_kind::start_seconds_elapsed;
        case timer::stop_timeout: return event_kind::stop_timeout;
        case timer::backoff: return event_kind::backoff_elapsed;
    }
    return event_kind::backoff_elapsed;
}

// The actions step() asks for.
struct spawn_instance {
    friend bool operator==(const spawn_instance&, const spawn_instance&) = default;
};
struct send_signal {
    int signal;  // to the instance's process group
    friend bool operator==(const send_signal&, const send_signal&) = default;
};
struct arm_timer {
    timer which;
    std::chrono::milliseconds delay;
    friend bool operator==(const arm_timer&, const arm_timer&) = default;
};
struct cancel_timer {
    timer which;
    friend bool operator==(const cancel_timer&, const cancel_timer&) = default;
};
// An essential program ended for good: stop everything, and brood up exits with code.
struct essential_exit {
    int code;
    friend bool operator==(const essential_exit&, const essential_exit&) = default;
};
using action = std::variant<spawn_instance, send_signal, arm_timer, cancel_timer, essential_exit>;

// What the supervisor remembers about one instance between events.
struct instance_state {
    state current = state::stopped;
    clock::time_point since{};         // when current was entered: every transition has its time
    state resume_to = state::running;  // paused: where the continue returns to
    bool start_after_stop = false;     // stopping: a start came meanwhile (a restart)
    // stopping: why the watchdog or the health check ended the run ("its watchdog ended it"); once it
    // has ended, it restarts as a run that ended by itself does. Empty for a stop that was asked for.
    std::string ended_as_failure;
    bool failure_after_start = false;  // with ended_as_failure: the run had started, so no backoff
    clock::time_point spawned_at{};
    unsigned failed_starts = 0;        // in a row, ended before start_seconds: the backoff's exponent
    std::chrono::milliseconds up_time{0};                 // summed over runs: the start limit's clock
    std::vector<std::chrono::milliseconds> recent_starts;  // up_time at each of the last starts
    std::optional<wait_status> last_end;                  // how the last run ended
    std::string last_end_cause;                           // and why, when brood knows: "out of memory: memory_max 256M"
    std::string start_error;                              // why the last start failed; empty once one succeeded
    health_status health = health_status::none;
    unsigned health_failures = 0;  // checks failed in a row that counted (after start_period, or a pass)
    std::string health_failure;    // why the last check failed; kept after a pass, for brood status
    friend bool operator==(const instance_state&, const instance_state&) = default;
};

struct transition {
    instance_state next;
    std::vector<action> actions;
    std::string note;  // why, for the event log, when the event alone does not say: "restart in 2s"
};

// Uniform draws from [0, 1).
using random_source = std::function<double()>;

transition step(const instance_state& instance, const event& e, const program_config& program, clock::time_point now,
                const random_source& random);

// How the last run ended, as brood status shows it: "killed by SIGKILL (out of memory: memory_max
// 256M)", "exited with code 3"; "" when no run has ended.
std::string describe_last_end(const instance_state& instance);

std::string_view to_string(state s);
std::string_view to_string(event_kind k);
std::string_view to_string(health_status h);

// A reload changed the program's health check only: the process runs on, and its health starts again
// from nothing under the new check.
instance_state with_new_health_check(instance_state instance, const program_config& program);

}  // namespace brood::supervisor
