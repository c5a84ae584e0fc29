#include "supervisor/state_machine.hpp"

#include <algorithm>
#include <array>

#include <brood/signal.hpp>

#include "supervisor/backoff.hpp"
#include "supervisor/duration.hpp"
#include "supervisor/start_limit.hpp"

namespace brood::supervisor {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

struct context {
    const instance_state& before;
    const event& e;
    const program_config& program;
    clock::time_point now;
    const random_source& random;

    transition unchanged() const { return {before, {}, {}}; }
    transition to(state s) const {
        transition t = unchanged();
        t.next.current = s;
        return t;
    }
    // The state of the process under a pause: a paused instance is still starting, running or ready.
    state underlying() const { return before.current == state::paused ? before.resume_to : before.current; }
    // Where start_seconds leads: straight to ready when that is what ready means.
    state once_started() const { return program.ready == ready_check::started ? state::ready : state::running; }
    void add_up_time(transition& t) const {
        t.next.up_time += duration_cast<milliseconds>(now - before.spawned_at);
    }
};

using handler = transition (*)(const context&);

// An exit with one of the program's success codes; a kill by a signal never is.
bool succeeded(const program_config& program, const wait_status& end) {
    const std::optional<int> code = end.code();
    return code && std::find(program.success_exit_codes.begin(), program.success_exit_codes.end(), *code) !=
                       program.success_exit_codes.end();
}

bool wants_restart(const program_config& program, const wait_status& end) {
    switch (program.restart) {
        case restart_policy::always: return true;
        case restart_policy::on_failure: return !succeeded(program, end);
        case restart_policy::never: return false;
    }
    return false;
}

// Whether a process of the instance is there, in state s.
bool process_up(state s) {
    return s == state::starting || s == state::running || s == state::ready || s == state::paused || s == state::stopping;
}

void launch(const context& c, transition& t) {
    record_start(c.program.start_limit, t.next.recent_starts, t.next.up_time);
    t.next.current = state::starting;
    t.next.health = c.program.health ? health_status::starting : health_status::none;
    t.next.health_failures = 0;
    t.actions.emplace_back(spawn_instance{});
}

// The event changes nothing: a stale timer, a duplicate request, news of a process that is gone.
transition ignore(const context& c) { return c.unchanged(); }

// stopped, exited, fatal + start: a fresh start, forgetting past failures and the start history.
transition start_fresh(const context& c) {
    transition t = c.unchanged();
    t.next.failed_starts = 0;
    t.next.up_time = milliseconds(0);
    t.next.recent_starts.clear();
    t.next.start_after_stop = false;
    launch(c, t);
    return t;
}

// backoff + start: no need to wait any longer.
transition start_now(const context& c) {
    transition t = c.unchanged();
    t.actions.emplace_back(cancel_timer{timer::backoff});
    launch(c, t);
    return t;
}

// backoff + backoff elapsed.
transition restart(const context& c) {
    transition t = c.unchanged();
    launch(c, t);
    return t;
}

// backoff + stop: nothing runs; the pending restart is dropped.
transition drop_restart(const context& c) {
    transition t = c.to(state::stopped);
    t.actions.emplace_back(cancel_timer{timer::backoff});
    return t;
}

// Up for start_seconds: started. A started run resets the backoff.
transition started(const context& c) {
    transition t = c.to(c.once_started());
    t.next.failed_starts = 0;
    return t;
}

transition spawned(const context& c) {
    transition t = c.program.start_seconds.count() == 0 ? started(c) : c.unchanged();
    t.next.spawned_at = c.now;
    t.next.start_error.clear();
    if (c.program.start_seconds.count() != 0)
        t.actions.emplace_back(arm_timer{timer::start_seconds, c.program.start_seconds});
    return t;
}

// paused + start_seconds elapsed: the process has been up that long; it resumes as started.
transition started_while_paused(const context& c) {
    if (c.before.resume_to != state::starting) return c.unchanged();
    transition t = c.unchanged();
    t.next.resume_to = c.once_started();
    t.next.failed_starts = 0;
    return t;
}

// starting, running + ready. A program that says it is ready has started, start_seconds or not.
transition become_ready(const context& c) {
    transition t = c.to(state::ready);
    if (c.before.current == state::starting) t.actions.emplace_back(cancel_timer{timer::start_seconds});
    t.next.failed_starts = 0;
    return t;
}

// paused + ready: a listening socket accepts connections even while its process is stopped.
transition ready_while_paused(const context& c) {
    transition t = c.unchanged();
    if (c.before.resume_to == state::starting) t.actions.emplace_back(cancel_timer{timer::start_seconds});
    t.next.resume_to = state::ready;
    t.next.failed_starts = 0;
    return t;
}

// "what happened; what comes next", for the note; either may be empty.
std::string joined(const std::string& what, const std::string& next) {
    return what.empty() || next.empty() ? what + next : what + "; " + next;
}

bool limit_reached(const context& c, const transition& t) {
    return start_limit_reached(c.program.start_limit, t.next.recent_starts, t.next.up_time);
}

// The start limit is reached: fatal, and for an essential program the end of everything.
transition give_up(const context& c, transition t, const std::string& what) {
    t.next.current = state::fatal;
    t.note = joined(what, "started " + std::to_string(c.program.start_limit.burst) + " times within " +
                              format_duration(c.program.start_limit.interval) + " of running time: start limit reached");
    if (c.program.essential) t.actions.emplace_back(essential_exit{c.e.status.shell_code()});
    return t;
}

// A failed start: a restart after the backoff, which grows with the failed starts in a row.
transition back_off(const context& c, transition t, const std::string& what) {
    const milliseconds delay = backoff_delay(c.program.backoff, t.next.failed_starts, c.random());
    t.next.current = state::backoff;
    t.actions.emplace_back(arm_timer{timer::backoff, delay});
    t.note = joined(what, "restart in " + format_duration(delay));
    return t;
}

std::string could_not_start(const event& e) { return "could not be started: " + e.why; }

// The instance ended by itself (or could not be executed): restart it after a backoff, give up
// (fatal) when it reached its start limit, or leave it exited as its restart policy says.
transition ended(const context& c) {
    transition t = c.unchanged();
    std::string what;
    if (c.e.kind == event_kind::exited) {
        if (c.underlying() == state::starting) t.actions.emplace_back(cancel_timer{timer::start_seconds});
        c.add_up_time(t);
    } else {  // spawn_failed: it never ran, no timer was armed
        t.next.start_error = c.e.why;
        what = could_not_start(c.e);
    }
    t.next.last_end = c.e.status;
    t.next.last_end_cause = c.e.kind == event_kind::exited ? c.e.why : std::string();

    if (!wants_restart(c.program, c.e.status)) {
        // Done for good: completed when it succeeded (a one-shot job), exited when it failed.
        t.next.current = c.e.kind == event_kind::exited && succeeded(c.program, c.e.status) ? state::completed
                                                                                              : state::exited;
        t.note = what;
        if (c.program.essential) t.actions.emplace_back(essential_exit{c.e.status.shell_code()});
        return t;
    }
    // A run that had started (up for start_seconds, or ready) is restarted at once, as runit and s6
    // do: the backoff is for starts that fail in a row, and its count was reset when this run started.
    const bool had_started = c.e.kind == event_kind::exited && c.underlying() != state::starting;
    if (!had_started) ++t.next.failed_starts;
    if (limit_reached(c, t)) return give_up(c, std::move(t), what);
    if (!had_started) return back_off(c, std::move(t), what);
    launch(c, t);
    t.note = "restarted at once: it had started";
    return t;
}

// starting + start_failed: brood could not prepare the start (out of file descriptors or memory, its
// log or notify socket could not be opened). The program never ran, so its restart policy has
// nothing to judge: the start is tried again after a backoff, up to the start limit, whatever the
// policy. How the last run ended stays as it was.
transition start_failed(const context& c) {
    transition t = c.unchanged();
    t.next.start_error = c.e.why;
    ++t.next.failed_starts;
    if (limit_reached(c, t)) return give_up(c, std::move(t), could_not_start(c.e));
    return back_off(c, std::move(t), could_not_start(c.e));
}

// starting, running, ready + stopped by a signal, whoever sent it.
transition paused(const context& c) {
    transition t = c.to(state::paused);
    t.next.resume_to = c.before.current;
    return t;
}

transition resumed(const context& c) { return c.to(c.before.resume_to); }

transition pause(const context& c) {
    transition t = c.unchanged();
    t.actions.emplace_back(send_signal{SIGSTOP});
    return t;
}

transition resume(const context& c) {
    transition t = c.unchanged();
    t.actions.emplace_back(send_signal{SIGCONT});
    return t;
}

// Into stopping with signal, always followed by SIGCONT: a paused program could not act on it
// otherwise; SIGKILL to the group once stop_timeout has passed.
transition stop_with(const context& c, int signal) {
    transition t = c.to(state::stopping);
    if (c.underlying() == state::starting) t.actions.emplace_back(cancel_timer{timer::start_seconds});
    t.actions.emplace_back(send_signal{signal});
    t.actions.emplace_back(send_signal{SIGCONT});
    t.actions.emplace_back(arm_timer{timer::stop_timeout, c.program.stop_timeout});
    t.next.start_after_stop = false;
    return t;
}

transition begin_stop(const context& c) { return stop_with(c, c.program.stop_signal); }

// stopping + start: start again once it has stopped (a restart).
transition start_after_stop(const context& c) {
    transition t = c.unchanged();
    t.next.start_after_stop = true;
    return t;
}

// stopping + stop: the last word wins, so a start asked for meanwhile is dropped.
transition stay_stopped(const context& c) {
    transition t = c.unchanged();
    t.next.start_after_stop = false;
    t.next.ended_as_failure.clear();
    t.next.failure_after_start = false;
    return t;
}

transition kill_group(const context& c) {
    transition t = c.unchanged();
    t.actions.emplace_back(send_signal{SIGKILL});
    t.note = "still running " + format_duration(c.program.stop_timeout) + " after " +
             signal_name(c.program.stop_signal) + ": SIGKILL to its process group";
    return t;
}

// The shutdown's budget is spent: no stop signal, no waiting for dependants, SIGKILL now. The
// stop_timeout is armed as for any stop, for a process the kill does not end at once.
transition kill_now(const context& c) {
    transition t = c.to(state::stopping);
    if (c.underlying() == state::starting) t.actions.emplace_back(cancel_timer{timer::start_seconds});
    t.actions.emplace_back(send_signal{SIGKILL});
    t.actions.emplace_back(arm_timer{timer::stop_timeout, c.program.stop_timeout});
    t.next.start_after_stop = false;
    t.note = "shutdown_timeout spent: SIGKILL to its process group";
    return t;
}

// stopping + shutdown_timeout: its stop_timeout has not run out, but the shutdown's budget has.
transition kill_stopping(const context& c) {
    transition t = c.unchanged();
    t.actions.emplace_back(send_signal{SIGKILL});
    t.note = "shutdown_timeout spent: SIGKILL to its process group";
    return t;
}

// starting, running, ready + watchdog missed: the program hangs. Its watchdog_signal (SIGABRT by
// default, as systemd's, for a core dump where they are kept), SIGKILL after stop_timeout, and a
// start once it has ended.
transition watchdog_restart(const context& c) {
    transition t = stop_with(c, c.program.watchdog_signal);
    t.next.ended_as_failure = "its watchdog ended it";
    t.next.failure_after_start = c.underlying() != state::starting;
    t.note = "watchdog: no WATCHDOG=1 within " + format_duration(c.program.watchdog.value_or(milliseconds(0))) + ": " +
             signal_name(c.program.watchdog_signal) + ", then a restart";
    return t;
}

// stopping + exited: stopped as asked; neither a failure nor, for an essential program, an end,
// unless the watchdog was what stopped it.
transition stop_finished(const context& c) {
    transition t = c.to(state::stopped);
    t.actions.emplace_back(cancel_timer{timer::stop_timeout});
    c.add_up_time(t);
    t.next.last_end = c.e.status;
    t.next.last_end_cause = c.e.why;
    if (!c.before.ended_as_failure.empty() && !c.before.start_after_stop) {
        // A hung or unhealthy run, ended by its watchdog or health check, is restarted as a run that
        // ended by itself (ended()): at once when it had started, after a backoff when it was still
        // starting; fatal at the start limit either way.
        const std::string why = std::move(t.next.ended_as_failure);
        const bool had_started = c.before.failure_after_start;
        t.next.ended_as_failure.clear();
        t.next.failure_after_start = false;
        if (!had_started) ++t.next.failed_starts;
        if (limit_reached(c, t)) return give_up(c, std::move(t), why);
        if (!had_started) return back_off(c, std::move(t), why);
        launch(c, t);
        t.note = why + "; restarted at once: it had started";
        return t;
    }
    if (!c.before.start_after_stop) return t;
    transition again = start_fresh({t.next, c.e, c.program, c.now, c.random});
    again.actions.insert(again.actions.begin(), t.actions.begin(), t.actions.end());
    return again;
}

// starting, running, ready + a check passed: healthy, the failures in a row forgotten.
transition health_passed(const context& c) {
    if (!c.program.health) return c.unchanged();  // a check the reload that removed it let finish
    transition t = c.unchanged();
    t.next.health = health_status::healthy;
    t.next.health_failures = 0;
    return t;
}

// starting, running, ready + a check failed: counted unless start_period still runs and no check has
// passed yet, as compose's start_period; at retries in a row, unhealthy, and with on_unhealthy =
// "restart" the end of the run (its stop signal, SIGKILL after stop_timeout), restarted as a failed
// run is.
transition health_failed(const context& c) {
    if (!c.program.health) return c.unchanged();
    const health_config& check = *c.program.health;
    transition t = c.unchanged();
    t.next.health_failure = c.e.why;
    const std::string what = "health check failed: " + c.e.why;
    if (c.before.health == health_status::starting && c.now - c.before.spawned_at < check.start_period) {
        t.note = what + " (within start_period " + format_duration(check.start_period) + ": not counted)";
        return t;
    }
    ++t.next.health_failures;
    const std::string count = std::to_string(t.next.health_failures) + " in a row";
    if (t.next.health_failures < check.retries) {
        t.note = what + ", " + count + " (unhealthy at " + std::to_string(check.retries) + ")";
        return t;
    }
    if (check.on_unhealthy == unhealthy_action::none) {
        // Said once, as it becomes unhealthy; status counts the failures after that.
        if (c.before.health != health_status::unhealthy)
            t.note = what + ", " + count + ": unhealthy; on_unhealthy = \"none\": it runs on";
        t.next.health = health_status::unhealthy;
        return t;
    }
    transition stop = stop_with(c, c.program.stop_signal);
    stop.next.health_failure = t.next.health_failure;
    stop.next.health_failures = t.next.health_failures;
    stop.next.health = health_status::unhealthy;
    stop.next.ended_as_failure = "unhealthy: " + c.e.why;
    stop.next.failure_after_start = c.underlying() != state::starting;
    stop.note = what + ", " + count + ": unhealthy: " + signal_name(c.program.stop_signal) + ", then a restart";
    return stop;
}

// actions[state][event]: every pair decided here, none by default. Columns in event_kind order.
//                  start             stop          spawned  spawn_failed  start_failed  start_seconds         ready               exited         stopped  continued  stop_timeout  backoff  pause   resume  shutdown_timeout  watchdog  health_passed  health_failed
constexpr std::array<std::array<handler, event_kind_count>, state_count> actions{{
    /* stopped  */ {start_fresh,      ignore,       ignore,  ignore,       ignore,       ignore,               ignore,             ignore,        ignore,  ignore,    ignore,       ignore,  ignore, ignore, ignore, ignore, ignore, ignore},
    /* starting */ {ignore,           begin_stop,   spawned, ended,        start_failed, started,              become_ready,       ended,         paused,  ignore,    ignore,       ignore,  pause,  ignore, kill_now, watchdog_restart, health_passed, health_failed},
    /* running  */ {ignore,           begin_stop,   ignore,  ignore,       ignore,       ignore,               become_ready,       ended,         paused,  ignore,    ignore,       ignore,  pause,  ignore, kill_now, watchdog_restart, health_passed, health_failed},
    /* ready    */ {ignore,           begin_stop,   ignore,  ignore,       ignore,       ignore,               ignore,             ended,         paused,  ignore,    ignore,       ignore,  pause,  ignore, kill_now, watchdog_restart, health_passed, health_failed},
    /* paused   */ {ignore,           begin_stop,   ignore,  ignore,       ignore,       started_while_paused, ready_while_paused, ended,         ignore,  resumed,   ignore,       ignore,  ignore, resume, kill_now, ignore, ignore, ignore},
    /* backoff  */ {start_now,        drop_restart, ignore,  ignore,       ignore,       ignore,               ignore,             ignore,        ignore,  ignore,    ignore,       restart, ignore, ignore, drop_restart, ignore, ignore, ignore},
    /* stopping */ {start_after_stop, stay_stopped, ignore,  ignore,       ignore,       ignore,               ignore,             stop_finished, ignore,  ignore,    kill_group,   ignore,  ignore, ignore, kill_stopping, ignore, ignore, ignore},
    /* exited   */ {start_fresh,      ignore,       ignore,  ignore,       ignore,       ignore,               ignore,             ignore,        ignore,  ignore,    ignore,       ignore,  ignore, ignore, ignore, ignore, ignore, ignore},
    /* fatal    */ {start_fresh,      ignore,       ignore,  ignore,       ignore,       ignore,               ignore,             ignore,        ignore,  ignore,    ignore,       ignore,  ignore, ignore, ignore, ignore, ignore, ignore},
    /* completed*/ {start_fresh,      ignore,       ignore,  ignore,       ignore,       ignore,               ignore,             ignore,        ignore,  ignore,    ignore,       ignore,  ignore, ignore, ignore, ignore, ignore, ignore},
}};

}  // namespace

transition step(const instance_state& instance, const event& e, const program_config& program, clock::time_point now,
                const random_source& random) {
    const context c{instance, e, program, now, random};
    transition t = actions[static_cast<std::size_t>(instance.current)][static_cast<std::size_t>(e.kind)](c);
    if (t.next.current != instance.current) t.next.since = now;
    // Health is said of a process: with none, there is none to say.
    if (!process_up(t.next.current)) {
        t.next.health = health_status::none;
        t.next.health_failures = 0;
    }
    return t;
}

std::string describe_last_end(const instance_state& instance) {
    if (!instance.last_end) return {};
    std::string text = instance.last_end->to_string();
    if (!instance.last_end_cause.empty()) text += " (" + instance.last_end_cause + ")";
    return text;
}

std::string_view to_string(state s) {
    constexpr std::array<std::string_view, state_count> names{
        "stopped", "starting", "running", "ready", "paused", "backoff", "stopping", "exited", "fatal", "completed"};
    return names[static_cast<std::size_t>(s)];
}

std::string_view to_string(event_kind k) {
    constexpr std::array<std::string_view, event_kind_count> names{
        "start_requested", "stop_requested", "spawned", "spawn_failed", "start_failed", "start_seconds_elapsed",
        "ready_signalled", "exited", "stopped_by_signal", "continued", "stop_timeout", "backoff_elapsed",
        "pause_requested", "resume_requested", "shutdown_timeout", "watchdog_missed", "health_passed", "health_failed"};
    return names[static_cast<std::size_t>(k)];
}

std::string_view to_string(health_status h) {
    constexpr std::array<std::string_view, 4> names{"none", "starting", "healthy", "unhealthy"};
    return names[static_cast<std::size_t>(h)];
}

instance_state with_new_health_check(instance_state instance, const program_config& program) {
    instance.health = program.health && process_up(instance.current) ? health_status::starting : health_status::none;
    instance.health_failures = 0;
    return instance;
}

}  // namespace brood::supervisor
