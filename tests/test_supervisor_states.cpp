// The supervisor's state machine: the whole state × event table, backoff, start limit, stop and
// pause, essential programs. Pure: no process is started, time is passed in.
#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <vector>

#include <signal.h>

#include <gtest/gtest.h>

#include <brood/signal.hpp>

#include "supervisor/backoff.hpp"
#include "supervisor/duration.hpp"
#include "supervisor/start_limit.hpp"
#include "supervisor/state_machine.hpp"

using namespace brood::supervisor;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

const clock::time_point t0 = clock::time_point() + 1h;

// "spawn; signal SIGTERM; arm stop_timeout 10s": an action list as one readable line.
std::string describe(const std::vector<action>& actions) {
    constexpr std::array<const char*, 3> timers{"start_seconds", "stop_timeout", "backoff"};
    std::string text;
    for (const action& a : actions) {
        if (!text.empty()) text += "; ";
        if (std::holds_alternative<spawn_instance>(a)) text += "spawn";
        else if (auto* s = std::get_if<send_signal>(&a)) text += "signal " + brood::signal_name(s->signal);
        else if (auto* t = std::get_if<arm_timer>(&a))
            text += std::string("arm ") + timers[static_cast<int>(t->which)] + " " + format_duration(t->delay);
        else if (auto* c = std::get_if<cancel_timer>(&a)) text += std::string("cancel ") + timers[static_cast<int>(c->which)];
        else if (auto* e = std::get_if<essential_exit>(&a)) text += "essential_exit " + std::to_string(e->code);
    }
    return text;
}

program_config web() {
    program_config p;
    p.name = "web";
    p.stop_signal = SIGINT;  // not the default, so the table is seen to use the config's
    return p;
}

// One instance in each state, as the supervisor would have it there.
instance_state typical(state s) {
    instance_state i;
    i.current = s;
    i.since = t0;
    i.spawned_at = t0;
    i.recent_starts = {0ms};
    if (s == state::paused) i.resume_to = state::running;
    if (s == state::backoff) i.failed_starts = 1;
    return i;
}

// The event of each kind the table is tried with: a failed exit, a failed spawn or start, a SIGTSTP.
event typical(event_kind k) {
    switch (k) {
        case event_kind::exited: return {k, brood::exited{1}};
        case event_kind::spawn_failed: return {k, brood::exited{127}, "spawn \"nosuch\": exec failed: ENOENT"};
        case event_kind::start_failed: return {k, brood::exited{125}, "pipe for the output of web.0: EMFILE"};
        case event_kind::stopped_by_signal: return {k, brood::stopped{SIGTSTP}};
        default: return {k};
    }
}

const random_source no_jitter = [] { return 0.0; };

// Feeds events to one instance as the supervisor would, keeping the time.
struct driver {
    program_config program = web();
    instance_state instance;
    clock::time_point now = t0;
    random_source random = no_jitter;
    transition last;

    const transition& on(event_kind k, brood::wait_status status = brood::exited{0}, std::string why = {}) {
        last = step(instance, {k, status, std::move(why)}, program, now, random);
        instance = last.next;
        return last;
    }
    void wait(milliseconds d) { now += d; }
    // The delay of the backoff timer the last transition armed.
    milliseconds backoff_armed() const {
        for (const action& a : last.actions)
            if (auto* t = std::get_if<arm_timer>(&a); t && t->which == timer::backoff) return t->delay;
        ADD_FAILURE() << "no backoff timer in: " << describe(last.actions);
        return 0ms;
    }
    // Spawned, up for `run`, then exits with code 1; returns the state that leaves it in.
    state run_and_fail(milliseconds run) {
        on(event_kind::spawned);
        wait(run);
        if (run >= program.start_seconds && program.start_seconds > 0ms) on(event_kind::start_seconds_elapsed);
        return on(event_kind::exited, brood::exited{1}).next.current;
    }
    // From backoff: waits out the armed delay and restarts.
    void restart_after_backoff() {
        wait(backoff_armed());
        EXPECT_EQ(describe(on(event_kind::backoff_elapsed).actions), "spawn");
    }
};

struct cell {
    state next;
    const char* actions;
};

}  // namespace

// ---- the whole table ----

// Every state × event pair, stated again here independently of the implementation's table.
TEST(state_table, every_pair_is_decided) {
    using enum state;
    const char* const stop = "signal SIGINT; signal SIGCONT; arm stop_timeout 10s";
    const char* const stop_starting = "cancel start_seconds; signal SIGINT; signal SIGCONT; arm stop_timeout 10s";
    const char* const kill_now = "signal SIGKILL; arm stop_timeout 10s";
    const char* const watchdog = "signal SIGABRT; signal SIGCONT; arm stop_timeout 10s";
    // Columns in event_kind order: start_requested, stop_requested, spawned, spawn_failed, start_failed,
    // start_seconds_elapsed, ready_signalled, exited, stopped_by_signal, continued, stop_timeout,
    // backoff_elapsed, pause_requested, resume_requested, shutdown_timeout, watchdog_missed, health_passed,
    // health_failed (web() has no health check: the health events change nothing; see health_check below).
    const std::array<std::array<cell, event_kind_count>, state_count> expected{{
        /* stopped  */ {{{starting, "spawn"}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}, {stopped, ""}}},
        /* starting */ {{{starting, ""}, {stopping, stop_starting}, {starting, "arm start_seconds 1s"}, {backoff, "arm backoff 1s"}, {backoff, "arm backoff 1s"}, {ready, ""}, {ready, "cancel start_seconds"}, {backoff, "cancel start_seconds; arm backoff 1s"}, {paused, ""}, {starting, ""}, {starting, ""}, {starting, ""}, {starting, "signal SIGSTOP"}, {starting, ""}, {stopping, "cancel start_seconds; signal SIGKILL; arm stop_timeout 10s"}, {stopping, "cancel start_seconds; signal SIGABRT; signal SIGCONT; arm stop_timeout 10s"}, {starting, ""}, {starting, ""}}},
        /* running  */ {{{running, ""}, {stopping, stop}, {running, ""}, {running, ""}, {running, ""}, {running, ""}, {ready, ""}, {starting, "spawn"}, {paused, ""}, {running, ""}, {running, ""}, {running, ""}, {running, "signal SIGSTOP"}, {running, ""}, {stopping, kill_now}, {stopping, watchdog}, {running, ""}, {running, ""}}},
        /* ready    */ {{{ready, ""}, {stopping, stop}, {ready, ""}, {ready, ""}, {ready, ""}, {ready, ""}, {ready, ""}, {starting, "spawn"}, {paused, ""}, {ready, ""}, {ready, ""}, {ready, ""}, {ready, "signal SIGSTOP"}, {ready, ""}, {stopping, kill_now}, {stopping, watchdog}, {ready, ""}, {ready, ""}}},
        /* paused   */ {{{paused, ""}, {stopping, stop}, {paused, ""}, {paused, ""}, {paused, ""}, {paused, ""}, {paused, ""}, {starting, "spawn"}, {paused, ""}, {running, ""}, {paused, ""}, {paused, ""}, {paused, ""}, {paused, "signal SIGCONT"}, {stopping, kill_now}, {paused, ""}, {paused, ""}, {paused, ""}}},
        /* backoff  */ {{{starting, "cancel backoff; spawn"}, {stopped, "cancel backoff"}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {backoff, ""}, {starting, "spawn"}, {backoff, ""}, {backoff, ""}, {stopped, "cancel backoff"}, {backoff, ""}, {backoff, ""}, {backoff, ""}}},
        /* stopping */ {{{stopping, ""}, {stopping, ""}, {stopping, ""}, {stopping, ""}, {stopping, ""}, {stopping, ""}, {stopping, ""}, {stopped, "cancel stop_timeout"}, {stopping, ""}, {stopping, ""}, {stopping, "signal SIGKILL"}, {stopping, ""}, {stopping, ""}, {stopping, ""}, {stopping, "signal SIGKILL"}, {stopping, ""}, {stopping, ""}, {stopping, ""}}},
        /* exited   */ {{{starting, "spawn"}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}, {exited, ""}}},
        /* fatal    */ {{{starting, "spawn"}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}, {fatal, ""}}},
        /* completed*/ {{{starting, "spawn"}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}, {completed, ""}}},
    }};
    const clock::time_point now = t0 + 3s;
    for (std::size_t s = 0; s < state_count; ++s)
        for (std::size_t k = 0; k < event_kind_count; ++k) {
            const instance_state before = typical(static_cast<state>(s));
            const event e = typical(static_cast<event_kind>(k));
            const transition t = step(before, e, web(), now, no_jitter);
            SCOPED_TRACE(std::string(to_string(before.current)) + " + " + std::string(to_string(e.kind)));
            EXPECT_EQ(to_string(t.next.current), to_string(expected[s][k].next));
            EXPECT_EQ(describe(t.actions), expected[s][k].actions);
            // Every transition carries its time; staying put keeps the old one.
            EXPECT_EQ(t.next.since, t.next.current == before.current ? t0 : now);
            // A pair that does nothing changes nothing at all, but for two that only take note:
            // a start while stopping (restart afterwards) and a ready while paused.
            const bool takes_note = (before.current == stopping && e.kind == event_kind::start_requested) ||
                                    (before.current == paused && e.kind == event_kind::ready_signalled);
            if (t.actions.empty() && t.next.current == before.current && !takes_note) {
                EXPECT_EQ(t.next, before);
            }
        }
}

// Whatever the stop signal, every transition into stopping sends it, and SIGCONT right after.
TEST(state_table, a_stop_signal_is_always_followed_by_sigcont) {
    for (int stop_signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGKILL}) {
        program_config p = web();
        p.stop_signal = stop_signal;
        int stops = 0;
        for (std::size_t s = 0; s < state_count; ++s)
            for (std::size_t k = 0; k < event_kind_count; ++k) {
                const instance_state before = typical(static_cast<state>(s));
                const transition t = step(before, typical(static_cast<event_kind>(k)), p, t0, no_jitter);
                if (before.current == state::stopping || t.next.current != state::stopping) continue;
                // The spent shutdown budget kills instead: SIGKILL ends a stopped process too.
                if (static_cast<event_kind>(k) == event_kind::shutdown_timeout) continue;
                // A missed watchdog sends the watchdog's signal, followed by SIGCONT all the same.
                const bool watchdog = static_cast<event_kind>(k) == event_kind::watchdog_missed;
                if (!watchdog) ++stops;
                const int sent = watchdog ? p.watchdog_signal : stop_signal;
                const auto at = std::find(t.actions.begin(), t.actions.end(), action(send_signal{sent}));
                ASSERT_NE(at, t.actions.end()) << describe(t.actions);
                ASSERT_NE(at + 1, t.actions.end()) << describe(t.actions);
                EXPECT_EQ(at[1], action(send_signal{SIGCONT})) << describe(t.actions);
            }
        EXPECT_EQ(stops, 4);  // from starting, running, ready and paused
    }
}

TEST(state_table, names_and_timers) {
    std::set<std::string_view> states, events;
    for (std::size_t s = 0; s < state_count; ++s) states.insert(to_string(static_cast<state>(s)));
    for (std::size_t k = 0; k < event_kind_count; ++k) events.insert(to_string(static_cast<event_kind>(k)));
    EXPECT_EQ(states.size(), state_count);
    EXPECT_EQ(events.size(), event_kind_count);
    EXPECT_EQ(to_string(state::fatal), "fatal");
    EXPECT_EQ(to_string(event_kind::resume_requested), "resume_requested");
    EXPECT_EQ(timer_event(timer::start_seconds), event_kind::start_seconds_elapsed);
    EXPECT_EQ(timer_event(timer::stop_timeout), event_kind::stop_timeout);
    EXPECT_EQ(timer_event(timer::backoff), event_kind::backoff_elapsed);
}

// ---- starting ----

TEST(starting, up_for_start_seconds_is_started_and_ready) {
    driver d;
    EXPECT_EQ(describe(d.on(event_kind::start_requested).actions), "spawn");
    EXPECT_EQ(d.instance.current, state::starting);
    EXPECT_EQ(describe(d.on(event_kind::spawned).actions), "arm start_seconds 1s");
    EXPECT_EQ(d.instance.spawned_at, t0);
    d.wait(1s);
    d.on(event_kind::start_seconds_elapsed);
    EXPECT_EQ(d.instance.current, state::ready);
    EXPECT_EQ(d.instance.since, t0 + 1s);
}

TEST(starting, tcp_and_notify_programs_are_running_until_they_signal_ready) {
    for (ready_check check : {ready_check::tcp, ready_check::notify}) {
        driver d;
        d.program.ready = check;
        d.on(event_kind::start_requested);
        d.on(event_kind::spawned);
        d.on(event_kind::start_seconds_elapsed);
        EXPECT_EQ(d.instance.current, state::running);
        d.on(event_kind::ready_signalled);
        EXPECT_EQ(d.instance.current, state::ready);
    }
}

TEST(starting, ready_before_start_seconds_is_started_at_once) {
    driver d;
    d.program.ready = ready_check::notify;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    EXPECT_EQ(describe(d.on(event_kind::ready_signalled).actions), "cancel start_seconds");
    EXPECT_EQ(d.instance.current, state::ready);
}

TEST(starting, start_seconds_zero_is_started_when_spawned) {
    driver d;
    d.program.start_seconds = 0ms;
    d.on(event_kind::start_requested);
    EXPECT_EQ(describe(d.on(event_kind::spawned).actions), "");
    EXPECT_EQ(d.instance.current, state::ready);
    d.program.ready = ready_check::tcp;
    d.instance = {};
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    EXPECT_EQ(d.instance.current, state::running);
}

// ---- restart policy and backoff ----

TEST(restart, policy_decides_what_an_end_leads_to) {
    struct expectation {
        restart_policy policy;
        brood::wait_status end;
        state next;
    };
    for (const expectation& x : std::vector<expectation>{
             // The run lasted past start_seconds: a restart happens at once.
             {restart_policy::always, brood::exited{0}, state::starting},
             {restart_policy::always, brood::exited{1}, state::starting},
             {restart_policy::on_failure, brood::exited{0}, state::completed},
             {restart_policy::on_failure, brood::exited{2}, state::starting},
             {restart_policy::on_failure, brood::killed{SIGSEGV, true}, state::starting},
             {restart_policy::never, brood::exited{0}, state::completed},
             {restart_policy::never, brood::exited{1}, state::exited},
             {restart_policy::never, brood::killed{SIGKILL}, state::exited},
         }) {
        driver d;
        d.program.restart = x.policy;
        d.on(event_kind::start_requested);
        d.on(event_kind::spawned);
        d.on(event_kind::start_seconds_elapsed);
        d.wait(5s);
        EXPECT_EQ(d.on(event_kind::exited, x.end).next.current, x.next) << x.end.to_string();
        EXPECT_EQ(d.instance.last_end, x.end);
        EXPECT_EQ(d.instance.up_time, 5s);
    }
}

// success_exit_codes decide what a success is, for on-failure and for completed; a kill by a
// signal never is one.
TEST(restart, success_exit_codes_decide_what_counts_as_success) {
    struct expectation {
        restart_policy policy;
        brood::wait_status end;
        state next;
    };
    for (const expectation& x : std::vector<expectation>{
             {restart_policy::on_failure, brood::exited{3}, state::completed},
             {restart_policy::on_failure, brood::exited{0}, state::starting},
             {restart_policy::never, brood::exited{3}, state::completed},
             {restart_policy::never, brood::exited{0}, state::exited},
             {restart_policy::never, brood::killed{3}, state::exited},
         }) {
        driver d;
        d.program.restart = x.policy;
        d.program.success_exit_codes = {3, 4};
        d.on(event_kind::start_requested);
        d.on(event_kind::spawned);
        d.on(event_kind::start_seconds_elapsed);
        EXPECT_EQ(d.on(event_kind::exited, x.end).next.current, x.next) << x.end.to_string();
    }
}

TEST(backoff, doubles_from_initial_up_to_the_cap) {
    driver d;
    d.program.start_limit.burst = 1000;
    d.on(event_kind::start_requested);
    std::vector<milliseconds> delays;
    for (int i = 0; i < 9; ++i) {
        ASSERT_EQ(d.run_and_fail(100ms), state::backoff);
        delays.push_back(d.backoff_armed());
        EXPECT_EQ(d.last.note, "restart in " + format_duration(delays.back()));
        d.restart_after_backoff();
    }
    EXPECT_EQ(delays, (std::vector<milliseconds>{1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s}));
}

TEST(backoff, resets_once_a_run_lasted_start_seconds) {
    driver d;
    d.program.start_limit.burst = 1000;
    d.on(event_kind::start_requested);
    for (milliseconds expected : {1s, 2s, 4s}) {
        d.run_and_fail(100ms);
        EXPECT_EQ(d.backoff_armed(), expected);
        d.restart_after_backoff();
    }
    EXPECT_EQ(d.instance.failed_starts, 3u);
    // Passed start_seconds (1s): it had started, so it is restarted at once, with no backoff...
    EXPECT_EQ(d.run_and_fail(5s), state::starting);
    EXPECT_EQ(describe(d.last.actions), "spawn");
    EXPECT_EQ(d.last.note, "restarted at once: it had started");
    EXPECT_EQ(d.instance.failed_starts, 0u);
    // ...and the next failed start waits initial again.
    d.run_and_fail(100ms);
    EXPECT_EQ(d.backoff_armed(), 1s);
}

TEST(backoff, jitter_shortens_by_at_most_its_fraction) {
    backoff_config config;  // 1s, 1m, 0.2
    for (unsigned failures = 1; failures < 12; ++failures) {
        const milliseconds base = backoff_delay(config, failures, 0.0);
        EXPECT_LE(base, config.max);
        for (double u : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999999}) {
            const milliseconds d = backoff_delay(config, failures, u);
            EXPECT_LE(d, base);
            EXPECT_GE(d.count(), static_cast<long>(base.count() * 0.8) - 1);
        }
    }
    EXPECT_EQ(backoff_delay(config, 1, 0.5), 900ms);
    EXPECT_EQ(backoff_delay(config, 3, 0.5), 3600ms);
    EXPECT_EQ(backoff_delay(config, 100, 0.0), 60s);  // no overflow however many failures
    EXPECT_EQ(backoff_delay(config, 0, 0.0), 1s);
    config.jitter = 0;
    EXPECT_EQ(backoff_delay(config, 2, 0.99), 2s);
    config.initial = 0ms;
    EXPECT_EQ(backoff_delay(config, 5, 0.5), 0ms);
}

TEST(backoff, the_random_source_is_drawn_once_per_scheduled_restart) {
    driver d;
    int draws = 0;
    d.random = [&] {
        ++draws;
        return 0.5;
    };
    d.on(event_kind::start_requested);
    d.run_and_fail(100ms);
    EXPECT_EQ(draws, 1);
    EXPECT_EQ(d.backoff_armed(), 900ms);
    d.restart_after_backoff();
    d.on(event_kind::spawned);
    d.on(event_kind::stop_requested);
    d.on(event_kind::exited, brood::killed{SIGINT});
    EXPECT_EQ(draws, 1);
}

// ---- start limit ----

TEST(start_limit, a_crash_loop_becomes_fatal_however_long_the_backoff) {
    driver d;  // burst 5 within 10s of running time
    d.on(event_kind::start_requested);
    int runs = 1;
    while (d.run_and_fail(100ms) == state::backoff) {
        d.restart_after_backoff();
        ++runs;
    }
    EXPECT_EQ(d.instance.current, state::fatal);
    EXPECT_EQ(runs, 5);
    EXPECT_EQ(d.last.note, "started 5 times within 10s of running time: start limit reached");
    EXPECT_EQ(describe(d.last.actions), "cancel start_seconds");
    // 1 + 2 + 4 + 8 s of backoff: far more wall time than the interval, and still fatal.
    EXPECT_EQ(d.now - t0, 15s + 5 * 100ms);
}

TEST(start_limit, a_program_that_runs_between_crashes_is_never_fatal) {
    driver d;
    d.on(event_kind::start_requested);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(d.run_and_fail(3s), state::starting) << "run " << i;
}

TEST(start_limit, spawn_failures_count_and_end_fatal) {
    driver d;
    d.on(event_kind::start_requested);
    int attempts = 1;
    while (d.on(event_kind::spawn_failed, brood::exited{127}).next.current == state::backoff) {
        d.restart_after_backoff();
        ++attempts;
    }
    EXPECT_EQ(d.instance.current, state::fatal);
    EXPECT_EQ(attempts, 5);
    EXPECT_EQ(d.instance.last_end, brood::wait_status(brood::exited{127}));
}

TEST(start_limit, an_interval_of_zero_turns_it_off) {
    driver d;
    d.program.start_limit.interval = 0ms;
    d.on(event_kind::start_requested);
    for (int i = 0; i < 50; ++i) {
        ASSERT_EQ(d.run_and_fail(0ms), state::backoff);
        d.restart_after_backoff();
    }
}

TEST(start_limit, a_start_request_after_fatal_starts_afresh) {
    driver d;
    d.program.start_limit.burst = 1;
    d.on(event_kind::start_requested);
    ASSERT_EQ(d.run_and_fail(100ms), state::fatal);
    EXPECT_EQ(describe(d.on(event_kind::start_requested).actions), "spawn");
    EXPECT_EQ(d.instance.failed_starts, 0u);
    EXPECT_EQ(d.instance.recent_starts, std::vector<milliseconds>{0ms});
    EXPECT_EQ(d.instance.up_time, 0ms);
}

TEST(start_limit, counts_starts_on_the_running_time_clock) {
    const start_limit_config limit{3, 10s};
    std::vector<milliseconds> starts;
    for (milliseconds at : {0ms, 2000ms, 4000ms, 6000ms}) record_start(limit, starts, at);
    EXPECT_EQ(starts, (std::vector<milliseconds>{2s, 4s, 6s}));  // only the last `burst` matter
    EXPECT_TRUE(start_limit_reached(limit, starts, 6s));
    EXPECT_TRUE(start_limit_reached(limit, starts, 11999ms));
    EXPECT_FALSE(start_limit_reached(limit, starts, 12s));  // the start at 2s is 10s of running ago
    EXPECT_FALSE(start_limit_reached({3, 0ms}, starts, 6s));
}

// ---- starts that fail ----

// brood could not prepare the start (here: no file descriptor for the output pipe). The program never
// ran, so its restart policy has nothing to judge: backoff, then fatal at the start limit.
TEST(failed_start, backs_off_then_is_fatal_whatever_the_restart_policy) {
    const std::string why = "pipe for the output of web.0: EMFILE: Too many open files";
    for (restart_policy policy : {restart_policy::always, restart_policy::on_failure, restart_policy::never}) {
        driver d;
        d.program.restart = policy;
        d.on(event_kind::start_requested);
        int attempts = 1;
        while (d.on(event_kind::start_failed, brood::exited{125}, why).next.current == state::backoff) {
            EXPECT_EQ(d.last.note, "could not be started: " + why + "; restart in " + format_duration(d.backoff_armed()));
            EXPECT_EQ(d.instance.start_error, why);
            d.restart_after_backoff();
            ++attempts;
        }
        EXPECT_EQ(d.instance.current, state::fatal);
        EXPECT_EQ(attempts, 5);
        EXPECT_EQ(d.last.note, "could not be started: " + why + "; started 5 times within 10s of running time: start limit reached");
        EXPECT_EQ(describe(d.last.actions), "");
        EXPECT_EQ(d.instance.start_error, why);
        EXPECT_FALSE(d.instance.last_end);  // nothing ran, so nothing ended
    }
}

TEST(failed_start, keeps_how_the_last_run_ended_and_a_spawn_clears_the_error) {
    driver d;
    d.on(event_kind::start_requested);
    ASSERT_EQ(d.run_and_fail(5s), state::starting);  // had started: restarted at once
    d.on(event_kind::start_failed, brood::exited{125}, "open log \"web.0.log\": EMFILE: Too many open files");
    EXPECT_EQ(d.instance.current, state::backoff);
    EXPECT_EQ(d.instance.last_end, brood::wait_status(brood::exited{1}));
    EXPECT_EQ(d.instance.failed_starts, 1u);
    d.restart_after_backoff();
    d.on(event_kind::spawned);
    EXPECT_EQ(d.instance.start_error, "");
}

TEST(failed_start, an_essential_program_ends_everything_once_fatal) {
    for (restart_policy policy : {restart_policy::on_failure, restart_policy::never}) {
        driver d;
        d.program.essential = true;
        d.program.restart = policy;
        d.program.start_limit.burst = 2;
        d.on(event_kind::start_requested);
        EXPECT_EQ(describe(d.on(event_kind::start_failed, brood::exited{125}, "ENOMEM").actions), "arm backoff 1s");
        d.restart_after_backoff();
        EXPECT_EQ(describe(d.on(event_kind::start_failed, brood::exited{125}, "ENOMEM").actions), "essential_exit 125");
        EXPECT_EQ(d.instance.current, state::fatal);
    }
}

// A program that cannot be executed is judged by its restart policy, as an exit of code 127 or 126.
TEST(failed_start, a_program_that_cannot_be_executed_says_why) {
    const std::string why = "spawn \"nosuch\": exec failed: ENOENT: No such file or directory";
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawn_failed, brood::exited{127}, why);
    EXPECT_EQ(d.instance.current, state::backoff);
    EXPECT_EQ(d.last.note, "could not be started: " + why + "; restart in 1s");
    EXPECT_EQ(d.instance.start_error, why);

    driver once;
    once.program.restart = restart_policy::never;
    once.on(event_kind::start_requested);
    once.on(event_kind::spawn_failed, brood::exited{127}, why);
    EXPECT_EQ(once.instance.current, state::exited);
    EXPECT_EQ(once.last.note, "could not be started: " + why);
    EXPECT_EQ(once.instance.last_end, brood::wait_status(brood::exited{127}));
}

// ---- stop ----

TEST(stop, sends_the_stop_signal_then_sigcont_then_kills_the_group_after_the_timeout) {
    driver d;
    d.program.stop_signal = SIGQUIT;
    d.program.stop_timeout = 3s;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::start_seconds_elapsed);
    EXPECT_EQ(describe(d.on(event_kind::stop_requested).actions), "signal SIGQUIT; signal SIGCONT; arm stop_timeout 3s");
    EXPECT_EQ(d.instance.current, state::stopping);
    d.wait(3s);
    EXPECT_EQ(describe(d.on(event_kind::stop_timeout).actions), "signal SIGKILL");
    EXPECT_EQ(d.last.note, "still running 3s after SIGQUIT: SIGKILL to its process group");
    EXPECT_EQ(describe(d.on(event_kind::exited, brood::killed{SIGKILL}).actions), "cancel stop_timeout");
    EXPECT_EQ(d.instance.current, state::stopped);
}

TEST(stop, a_stopped_program_is_not_restarted_whatever_its_policy) {
    driver d;
    d.program.restart = restart_policy::always;
    d.program.essential = true;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::stop_requested);
    EXPECT_EQ(describe(d.on(event_kind::exited, brood::killed{SIGINT}).actions), "cancel stop_timeout");
    EXPECT_EQ(d.instance.current, state::stopped);
}

TEST(stop, a_paused_program_is_continued_so_it_can_act_on_the_stop_signal) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::stopped_by_signal, brood::stopped{SIGSTOP});
    ASSERT_EQ(d.instance.current, state::paused);
    EXPECT_EQ(describe(d.on(event_kind::stop_requested).actions),
              "cancel start_seconds; signal SIGINT; signal SIGCONT; arm stop_timeout 10s");
    EXPECT_EQ(d.on(event_kind::continued).next.current, state::stopping);
}

TEST(stop, a_start_during_stopping_restarts_once_stopped) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::stop_requested);
    d.on(event_kind::start_requested);
    EXPECT_EQ(d.instance.current, state::stopping);
    EXPECT_EQ(describe(d.on(event_kind::exited, brood::killed{SIGINT}).actions), "cancel stop_timeout; spawn");
    EXPECT_EQ(d.instance.current, state::starting);

    d.on(event_kind::spawned);
    d.on(event_kind::stop_requested);
    d.on(event_kind::start_requested);
    d.on(event_kind::stop_requested);  // the last word wins
    EXPECT_EQ(describe(d.on(event_kind::exited, brood::exited{0}).actions), "cancel stop_timeout");
    EXPECT_EQ(d.instance.current, state::stopped);
}

// ---- pause ----

TEST(pause, a_pause_is_a_state_once_the_stop_is_seen) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::start_seconds_elapsed);
    EXPECT_EQ(describe(d.on(event_kind::pause_requested).actions), "signal SIGSTOP");
    EXPECT_EQ(d.instance.current, state::ready);  // until the kernel says it stopped
    d.on(event_kind::stopped_by_signal, brood::stopped{SIGSTOP});
    EXPECT_EQ(d.instance.current, state::paused);
    EXPECT_EQ(describe(d.on(event_kind::resume_requested).actions), "signal SIGCONT");
    EXPECT_EQ(d.on(event_kind::continued).next.current, state::ready);
}

TEST(pause, a_stop_from_outside_pauses_too) {
    driver d;
    d.program.ready = ready_check::tcp;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::start_seconds_elapsed);
    ASSERT_EQ(d.instance.current, state::running);
    d.on(event_kind::stopped_by_signal, brood::stopped{SIGTSTP});
    EXPECT_EQ(d.instance.current, state::paused);
    EXPECT_EQ(d.instance.resume_to, state::running);
    d.on(event_kind::ready_signalled);  // a stopped process's socket still accepts
    EXPECT_EQ(d.on(event_kind::continued).next.current, state::ready);
}

TEST(pause, start_seconds_passing_while_paused_counts) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::stopped_by_signal, brood::stopped{SIGSTOP});
    EXPECT_EQ(d.instance.resume_to, state::starting);
    d.instance.failed_starts = 3;
    d.on(event_kind::start_seconds_elapsed);
    EXPECT_EQ(d.instance.current, state::paused);
    EXPECT_EQ(d.instance.resume_to, state::ready);
    EXPECT_EQ(d.instance.failed_starts, 0u);
    EXPECT_EQ(d.on(event_kind::continued).next.current, state::ready);
}

TEST(pause, an_end_while_paused_is_handled_as_any_end) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::stopped_by_signal, brood::stopped{SIGSTOP});
    EXPECT_EQ(describe(d.on(event_kind::exited, brood::killed{SIGKILL}).actions), "cancel start_seconds; arm backoff 1s");
    EXPECT_EQ(d.instance.current, state::backoff);
}

// ---- essential programs ----

TEST(essential, an_end_for_good_asks_to_stop_everything_with_its_code) {
    struct expectation {
        restart_policy policy;
        brood::wait_status end;
        const char* actions;
    };
    for (const expectation& x : std::vector<expectation>{
             {restart_policy::never, brood::exited{3}, "essential_exit 3"},
             {restart_policy::never, brood::killed{SIGSEGV}, "essential_exit 139"},
             {restart_policy::on_failure, brood::exited{0}, "essential_exit 0"},
             {restart_policy::on_failure, brood::exited{1}, "spawn"},  // restarted: not an end
         }) {
        driver d;
        d.program.essential = true;
        d.program.restart = x.policy;
        d.on(event_kind::start_requested);
        d.on(event_kind::spawned);
        d.on(event_kind::start_seconds_elapsed);
        EXPECT_EQ(describe(d.on(event_kind::exited, x.end).actions), x.actions) << x.end.to_string();
    }
}

TEST(essential, a_failed_spawn_or_the_start_limit_ends_everything_too) {
    driver d;
    d.program.essential = true;
    d.program.restart = restart_policy::never;
    d.on(event_kind::start_requested);
    EXPECT_EQ(describe(d.on(event_kind::spawn_failed, brood::exited{127}).actions), "essential_exit 127");
    EXPECT_EQ(d.instance.current, state::exited);

    driver loop;
    loop.program.essential = true;
    loop.program.start_limit.burst = 2;
    loop.on(event_kind::start_requested);
    loop.run_and_fail(10ms);
    loop.restart_after_backoff();
    loop.on(event_kind::spawned);
    EXPECT_EQ(describe(loop.on(event_kind::exited, brood::exited{4}).actions), "cancel start_seconds; essential_exit 4");
    EXPECT_EQ(loop.instance.current, state::fatal);
}

TEST(essential, other_programs_never_ask) {
    driver d;
    d.program.restart = restart_policy::never;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    EXPECT_EQ(describe(d.on(event_kind::exited, brood::exited{3}).actions), "cancel start_seconds");
    EXPECT_EQ(d.instance.current, state::exited);
}

// A missed watchdog: the watchdog's signal, then the end of the hung run is restarted as a run that
// ended by itself: at once when it had started, within the start limit.
TEST(watchdog, a_missed_watchdog_after_the_start_restarts_at_once_within_the_start_limit) {
    driver d;
    d.program.watchdog = 2s;
    d.program.start_limit.burst = 2;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::start_seconds_elapsed);
    ASSERT_EQ(d.instance.current, state::ready);
    const transition missed = d.on(event_kind::watchdog_missed);
    EXPECT_EQ(missed.next.current, state::stopping);
    EXPECT_EQ(describe(missed.actions), "signal SIGABRT; signal SIGCONT; arm stop_timeout 10s");
    EXPECT_EQ(missed.note, "watchdog: no WATCHDOG=1 within 2s: SIGABRT, then a restart");
    const transition ended = d.on(event_kind::exited, brood::killed{SIGABRT, true});
    EXPECT_EQ(ended.next.current, state::starting);
    EXPECT_EQ(describe(ended.actions), "cancel stop_timeout; spawn");
    EXPECT_EQ(ended.note, "its watchdog ended it; restarted at once: it had started");
    EXPECT_EQ(d.instance.failed_starts, 0u);
    d.on(event_kind::spawned);
    d.on(event_kind::start_seconds_elapsed);
    d.on(event_kind::watchdog_missed);
    EXPECT_EQ(d.on(event_kind::exited, brood::killed{SIGABRT, true}).next.current, state::fatal) << "start limit";
}

// A run whose watchdog is missed before it has started is a failed start: restarted after a backoff.
TEST(watchdog, a_missed_watchdog_while_starting_restarts_after_a_backoff) {
    driver d;
    d.program.watchdog = 2s;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    ASSERT_EQ(d.instance.current, state::starting);
    d.on(event_kind::watchdog_missed);
    const transition ended = d.on(event_kind::exited, brood::killed{SIGABRT, true});
    EXPECT_EQ(ended.next.current, state::backoff);
    EXPECT_EQ(ended.note, "its watchdog ended it; restart in 1s");
    EXPECT_EQ(d.instance.failed_starts, 1u);
    EXPECT_TRUE(d.instance.ended_as_failure.empty());
}

TEST(watchdog, a_stop_asked_for_meanwhile_wins) {
    driver d;
    d.program.watchdog = 2s;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::watchdog_missed);
    d.on(event_kind::stop_requested);
    EXPECT_EQ(d.on(event_kind::exited, brood::killed{SIGABRT, true}).next.current, state::stopped);
}

// ---- what ended a run ----

TEST(last_end, an_exit_with_a_cause_shows_it_until_the_next_end) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::exited, brood::killed{SIGKILL, false}, "out of memory: memory_max 256M");
    EXPECT_EQ(describe_last_end(d.instance), "killed by SIGKILL (out of memory: memory_max 256M)");
    d.restart_after_backoff();
    d.on(event_kind::spawned);
    d.on(event_kind::exited, brood::exited{3});
    EXPECT_EQ(describe_last_end(d.instance), "exited with code 3");
}

TEST(last_end, a_stop_records_its_cause_too_and_a_failed_spawn_has_none) {
    driver d;
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.on(event_kind::stop_requested);
    d.on(event_kind::exited, brood::killed{SIGKILL, false}, "out of memory");
    EXPECT_EQ(d.instance.current, state::stopped);
    EXPECT_EQ(describe_last_end(d.instance), "killed by SIGKILL (out of memory)");
    d.on(event_kind::start_requested);
    d.on(event_kind::spawn_failed, brood::exited{127}, "spawn \"nosuch\": exec failed: ENOENT");
    EXPECT_EQ(describe_last_end(d.instance), "exited with code 127");
    EXPECT_EQ(describe_last_end(instance_state{}), "");
}

// ---- health checks ----

namespace {

driver checked(unsigned retries, milliseconds start_period = 0ms, unhealthy_action on_unhealthy = unhealthy_action::restart) {
    driver d;
    health_config check;
    check.retries = retries;
    check.start_period = start_period;
    check.on_unhealthy = on_unhealthy;
    d.program.health = check;
    return d;
}

// Started, up for start_seconds: ready.
void bring_up(driver& d) {
    d.on(event_kind::start_requested);
    d.on(event_kind::spawned);
    d.wait(d.program.start_seconds);
    d.on(event_kind::start_seconds_elapsed);
    ASSERT_EQ(d.instance.current, state::ready);
}

}  // namespace

TEST(health_check, a_pass_makes_the_instance_healthy_and_forgets_the_failures_in_a_row) {
    driver d = checked(3);
    d.on(event_kind::start_requested);
    EXPECT_EQ(d.instance.health, health_status::starting);
    bring_up(d);
    const transition failed = d.on(event_kind::health_failed, brood::exited{0}, "HTTP 503");
    EXPECT_EQ(failed.note, "health check failed: HTTP 503, 1 in a row (unhealthy at 3)");
    EXPECT_EQ(describe(failed.actions), "");
    EXPECT_EQ(d.instance.health, health_status::starting);
    EXPECT_EQ(d.instance.health_failures, 1u);
    d.on(event_kind::health_passed);
    EXPECT_EQ(d.instance.health, health_status::healthy);
    EXPECT_EQ(d.instance.health_failures, 0u);
    EXPECT_EQ(d.instance.health_failure, "HTTP 503") << "the last failure stays for brood status";
    EXPECT_EQ(d.instance.current, state::ready) << "health is a flag beside the state";
}

// retries failures in a row: the stop signal, SIGKILL after stop_timeout, and once ended a restart
// as a failed run gets, so a service that flaps (healthy, unhealthy, healthy...) ends up fatal at
// its start limit rather than restarting for ever.
// An unhealthy run that had started is restarted at once, as a started run that ends by itself is;
// a program that flaps (healthy, unhealthy, again) becomes fatal at its start limit.
TEST(health_check, unhealthy_restarts_at_once_and_a_flapping_program_reaches_its_start_limit) {
    driver d = checked(2);
    d.program.start_limit.burst = 3;
    d.on(event_kind::start_requested);
    for (int run = 1; run <= 3; ++run) {
        SCOPED_TRACE("run " + std::to_string(run));
        d.on(event_kind::spawned);
        d.wait(d.program.start_seconds);
        d.on(event_kind::start_seconds_elapsed);
        d.on(event_kind::health_passed);
        EXPECT_EQ(d.instance.health, health_status::healthy);
        d.on(event_kind::health_failed, brood::exited{0}, "exit code 1");
        const transition unhealthy = d.on(event_kind::health_failed, brood::exited{0}, "exit code 1");
        EXPECT_EQ(unhealthy.next.current, state::stopping);
        EXPECT_EQ(unhealthy.next.health, health_status::unhealthy);
        EXPECT_EQ(describe(unhealthy.actions), "signal SIGINT; signal SIGCONT; arm stop_timeout 10s");
        EXPECT_EQ(unhealthy.note, "health check failed: exit code 1, 2 in a row: unhealthy: SIGINT, then a restart");
        EXPECT_EQ(d.on(event_kind::stop_timeout).actions, std::vector<action>{send_signal{SIGKILL}});
        const transition ended = d.on(event_kind::exited, brood::killed{SIGKILL, false});
        if (run < 3) {
            EXPECT_EQ(ended.next.current, state::starting);
            EXPECT_EQ(describe(ended.actions), "cancel stop_timeout; spawn");
            EXPECT_EQ(ended.note, "unhealthy: exit code 1; restarted at once: it had started");
            EXPECT_EQ(d.instance.failed_starts, 0u);
            EXPECT_EQ(d.instance.health, health_status::starting);
            EXPECT_EQ(d.instance.health_failures, 0u);
        } else {
            EXPECT_EQ(ended.next.current, state::fatal);
            EXPECT_EQ(ended.next.health, health_status::none);
            EXPECT_EQ(ended.note, "unhealthy: exit code 1; started 3 times within 10s of running time: start limit reached");
        }
    }
}

TEST(health_check, start_period_does_not_count_failures_until_a_check_passes) {
    driver d = checked(1, 5s);
    bring_up(d);  // 1 s after the spawn
    const transition early = d.on(event_kind::health_failed, brood::exited{0}, "connection refused");
    EXPECT_EQ(early.note, "health check failed: connection refused (within start_period 5s: not counted)");
    EXPECT_EQ(early.next.current, state::ready);
    EXPECT_EQ(early.next.health_failures, 0u);
    EXPECT_EQ(early.next.health_failure, "connection refused");
    d.wait(4s);  // 5 s after the spawn: start_period is over
    EXPECT_EQ(d.on(event_kind::health_failed, brood::exited{0}, "connection refused").next.current, state::stopping);

    // A pass ends the start period early: a failure after it counts.
    driver passed = checked(1, 5s);
    bring_up(passed);
    passed.on(event_kind::health_passed);
    EXPECT_EQ(passed.on(event_kind::health_failed, brood::exited{0}, "HTTP 500").next.current, state::stopping);
}

TEST(health_check, on_unhealthy_none_leaves_it_running_unhealthy_and_says_so_once) {
    driver d = checked(1, 0ms, unhealthy_action::none);
    bring_up(d);
    const transition first = d.on(event_kind::health_failed, brood::exited{0}, "timed out after 5s");
    EXPECT_EQ(first.next.current, state::ready);
    EXPECT_EQ(first.next.health, health_status::unhealthy);
    EXPECT_EQ(describe(first.actions), "");
    EXPECT_EQ(first.note, "health check failed: timed out after 5s, 1 in a row: unhealthy; on_unhealthy = \"none\": it runs on");
    const transition again = d.on(event_kind::health_failed, brood::exited{0}, "timed out after 5s");
    EXPECT_EQ(again.note, "");
    EXPECT_EQ(again.next.health_failures, 2u);
    EXPECT_EQ(d.on(event_kind::health_passed).next.health, health_status::healthy);
}

// A result that comes while no check should run (paused, stopping, nothing running) changes nothing;
// a stop asked for while an unhealthy run is being ended wins over its restart.
TEST(health_check, late_results_change_nothing_and_a_stop_asked_for_meanwhile_wins) {
    driver d = checked(1);
    for (const state s : {state::paused, state::stopping, state::stopped, state::backoff, state::exited, state::fatal,
                          state::completed}) {
        instance_state before = typical(s);
        for (const event_kind k : {event_kind::health_passed, event_kind::health_failed}) {
            const transition t = step(before, {k, brood::exited{0}, "HTTP 503"}, d.program, t0 + 3s, no_jitter);
            EXPECT_EQ(t.next, before) << to_string(s) << " + " << to_string(k);
            EXPECT_TRUE(t.actions.empty());
        }
    }
    bring_up(d);
    d.on(event_kind::health_failed, brood::exited{0}, "HTTP 503");
    d.on(event_kind::stop_requested);
    EXPECT_EQ(d.on(event_kind::exited, brood::killed{SIGINT, false}).next.current, state::stopped);
}

// A reload that changes the check only: the process runs on, its health counted afresh.
TEST(health_check, a_new_check_starts_the_health_afresh_without_touching_the_process) {
    driver d = checked(3);
    bring_up(d);
    d.on(event_kind::health_failed, brood::exited{0}, "HTTP 503");
    d.on(event_kind::health_passed);
    instance_state renewed = with_new_health_check(d.instance, d.program);
    EXPECT_EQ(renewed.health, health_status::starting);
    EXPECT_EQ(renewed.health_failures, 0u);
    EXPECT_EQ(renewed.current, state::ready);
    d.program.health.reset();
    EXPECT_EQ(with_new_health_check(d.instance, d.program).health, health_status::none);
    EXPECT_EQ(with_new_health_check(typical(state::stopped), checked(1).program).health, health_status::none);
}
