// The monitor: exits of many children at once, stops and continues, orphans, timers, fd watches,
// the embedding fd, threads, and exact counts under a storm of events.
#include <brood/command.hpp>
#include <brood/fork.hpp>
#include <brood/monitor.hpp>
#include <brood/proc.hpp>
#include <brood/reaper.hpp>

#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/leak_check.hpp"

using namespace brood;
using namespace std::chrono_literals;
using event = monitor::event;
using source = monitor::source;

namespace {

struct test_pipe {
    unique_fd read_end, write_end;
    test_pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        read_end.reset(fds[0]);
        write_end.reset(fds[1]);
    }
};

// A child blocked reading stdin_fd; it exits with code once every writer of that pipe is closed.
// The shell, not a helper of ours: tests start up to 1,000 of these, and in the sanitizer builds a
// helper would be an instrumented process of several MB each.
child waiter(int stdin_fd, int code) {
    return command("sh")
        .args(std::vector<std::string>{"-c", "while read -r line; do :; done; exit \"$1\"", "sh", std::to_string(code)})
        .set_stdin(stdio::fd(stdin_fd))
        .spawn();
}

child exiting(int code) { return command("sh").arg("-c").arg("exit " + std::to_string(code)).spawn(); }

std::string describe(const event& e) {
    static const char* const names[] = {"child", "orphan", "unwatched", "timer"};
    return std::string(names[static_cast<int>(e.from)]) + " pid " + std::to_string(e.pid) + " tag " +
           std::to_string(e.tag) + (e.status ? " " + e.status->to_string() : "");
}

// Pulls count events, failing the test if they take longer than limit.
std::vector<event> pull(monitor& mon, std::size_t count, std::chrono::milliseconds limit = 60s) {
    std::vector<event> events;
    const auto deadline = monitor::clock::now() + limit;
    while (events.size() < count) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - monitor::clock::now());
        if (left <= 0ms) {
            ADD_FAILURE() << "timed out with " << events.size() << " of " << count << " events";
            break;
        }
        if (auto e = mon.next_event(left)) events.push_back(*e);
    }
    return events;
}

void expect_quiet(monitor& mon, std::chrono::milliseconds time = 100ms) {
    const auto e = mon.next_event(time);
    EXPECT_FALSE(e) << "unexpected event: " << describe(*e);
}

// This test process as a child subreaper, for one test.
struct subreaper_for_a_test {
    subreaper_for_a_test() { become_subreaper(true); }
    ~subreaper_for_a_test() { become_subreaper(false); }
};

// A middle process that starts count grandchildren and exits at once, so that they become the
// subreaper's orphans. Grandchild i exits with 40 + i once every writer of p is closed.
child leaves_orphans(int count, const test_pipe& p) {
    return brood::fork([&] {
        for (int i = 0; i < count; ++i) {
            if (::fork() != 0) continue;
            ::close(p.write_end.get());
            char byte;
            while (::read(p.read_end.get(), &byte, 1) > 0) {
            }
            ::_exit(40 + i);
        }
        return 0;
    });
}

bool blocked(int signal) {
    sigset_t current;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &current);
    return sigismember(&current, signal) == 1;
}

}  // namespace

TEST(monitor, a_thousand_children_exiting_at_once_are_each_reported_once) {
    monitor mon;
    std::map<monitor::watch_id, std::uint64_t> tags;
    {
        test_pipe p;
        for (int i = 0; i < 1000; ++i) tags[mon.watch(waiter(p.read_end.get(), i % 256), i)] = i;
        EXPECT_EQ(mon.watched(), 1000u);
    }  // the last writer is gone: every child reads end of file and exits
    std::set<std::uint64_t> seen;
    for (const event& e : pull(mon, 1000)) {
        ASSERT_EQ(e.from, source::child) << describe(e);
        ASSERT_EQ(tags.at(e.watch), e.tag);
        EXPECT_EQ(e.status->code(), static_cast<int>(e.tag % 256)) << describe(e);
        EXPECT_TRUE(seen.insert(e.tag).second) << "reported twice: " << describe(e);
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(mon.watched(), 0u);
    expect_quiet(mon);
}

TEST(monitor, stop_and_continue_of_one_child_among_many_are_reported_for_that_child_only) {
    monitor mon({.report_stops = true});
    test_pipe p;
    std::vector<monitor::watch_id> ids;
    for (int i = 0; i < 100; ++i) ids.push_back(mon.watch(waiter(p.read_end.get(), 0), i));

    ASSERT_TRUE(mon.find(ids[37])->stop());
    auto events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].watch, ids[37]);
    EXPECT_EQ(events[0].tag, 37u);
    EXPECT_EQ(events[0].pid, mon.find(ids[37])->pid());
    EXPECT_EQ(events[0].status->stopped_signal(), SIGSTOP);
    expect_quiet(mon);

    ASSERT_TRUE(mon.find(ids[37])->resume());
    events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].watch, ids[37]);
    EXPECT_TRUE(events[0].status->continued()) << describe(events[0]);
    expect_quiet(mon);

    p.write_end.reset();
    EXPECT_EQ(pull(mon, 100).size(), 100u);
    EXPECT_EQ(mon.watched(), 0u);
}

TEST(monitor, a_child_killed_while_stopped_reports_its_stop_then_its_death) {
    monitor mon({.report_stops = true});
    test_pipe p;
    const auto id = mon.watch(waiter(p.read_end.get(), 0));
    ASSERT_TRUE(mon.find(id)->stop());
    auto events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].status->stopped_signal(), SIGSTOP);

    ASSERT_TRUE(mon.find(id)->kill());
    events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].watch, id);
    EXPECT_EQ(events[0].status->signal(), SIGKILL) << describe(events[0]);
    EXPECT_EQ(mon.find(id), nullptr);
    expect_quiet(mon);
}

TEST(monitor, a_child_stopped_and_killed_before_the_monitor_looks_ends_with_one_death) {
    monitor mon({.report_stops = true});
    test_pipe p;
    const auto id = mon.watch(waiter(p.read_end.get(), 0));
    mon.find(id)->stop();
    mon.find(id)->kill();
    // The kernel forgets a stop once the child is dead, so the stop may or may not be seen first.
    auto events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    if (events[0].status->stopped_signal()) events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].status->signal(), SIGKILL) << describe(events[0]);
    expect_quiet(mon);
}

// Two watched children, one killed and then one stopped, each waited for (WNOWAIT) before the next
// step. The exit's SIGCHLD is pending first, so the kernel drops the one the stop raises: the
// SIGCHLD the monitor reads says "a watched child exited", which its pidfd reports anyway.
struct stop_behind_an_exit {
    monitor::watch_id dying;
    monitor::watch_id stopping;
};

stop_behind_an_exit swallow_a_stop(monitor& mon, const test_pipe& p) {
    const stop_behind_an_exit ids{mon.watch(waiter(p.read_end.get(), 0)), mon.watch(waiter(p.read_end.get(), 0))};
    EXPECT_TRUE(mon.find(ids.dying)->kill());
    siginfo_t info{};
    EXPECT_EQ(::waitid(P_PIDFD, mon.find(ids.dying)->pidfd(), &info, WEXITED | WNOWAIT), 0);
    EXPECT_TRUE(mon.find(ids.stopping)->stop());
    EXPECT_EQ(::waitid(P_PIDFD, mon.find(ids.stopping)->pidfd(), &info, WSTOPPED | WNOWAIT), 0);
    return ids;
}

TEST(monitor, a_stop_whose_sigchld_was_swallowed_by_an_exit_is_still_reported) {
    monitor mon({.report_stops = true});
    test_pipe p;
    const auto [dying, stopping] = swallow_a_stop(mon, p);

    const auto start = monitor::clock::now();
    const auto events = pull(mon, 2);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].watch, dying);
    EXPECT_EQ(events[0].status->signal(), SIGKILL);
    EXPECT_EQ(events[1].watch, stopping);
    EXPECT_EQ(events[1].status->stopped_signal(), SIGSTOP);
    EXPECT_LT(monitor::clock::now() - start, 5s);
    expect_quiet(mon);
}

// The same, with fd() given to an embedding loop, which wakes only when fd() is readable: the stop
// must not wait for a deadline of the monitor's own, which would make nothing readable.
TEST(monitor, a_stop_whose_sigchld_was_swallowed_by_an_exit_is_reported_to_an_embedding_loop) {
    monitor mon({.report_stops = true});
    const int fd = mon.fd();
    test_pipe p;
    const auto [dying, stopping] = swallow_a_stop(mon, p);

    std::vector<event> events;
    mon.on_event([&](const event& e) { events.push_back(e); });
    for (pollfd ready{fd, POLLIN, 0}; events.size() < 2 && ::poll(&ready, 1, 5000) == 1;) mon.run_once(0ms);
    ASSERT_EQ(events.size(), 2u) << "fd() was not readable for the stop";
    // Two children: the order between their events is free.
    const bool stop_first = events[0].watch == stopping;
    EXPECT_EQ(events[stop_first ? 1 : 0].watch, dying);
    EXPECT_EQ(events[stop_first ? 1 : 0].status->signal(), SIGKILL);
    EXPECT_EQ(events[stop_first ? 0 : 1].watch, stopping);
    EXPECT_EQ(events[stop_first ? 0 : 1].status->stopped_signal(), SIGSTOP);
    mon.find(stopping)->kill();
}

// fd() asked for once the work was put off (the exit already handed out by the loop's own wait):
// the embedding loop is woken for it.
TEST(monitor, a_stop_swallowed_before_fd_was_given_is_reported_to_the_embedding_loop) {
    monitor mon({.report_stops = true});
    test_pipe p;
    const auto [dying, stopping] = swallow_a_stop(mon, p);
    std::vector<event> events;
    mon.on_event([&](const event& e) { events.push_back(e); });
    for (int turn = 0; events.empty() && turn < 50; ++turn) mon.run_once(100ms);
    ASSERT_EQ(events.size(), 1u) << "the exit alone first: the walk for the stop is put off";
    EXPECT_EQ(events[0].watch, dying);

    const int fd = mon.fd();
    for (pollfd ready{fd, POLLIN, 0}; events.size() < 2 && ::poll(&ready, 1, 5000) == 1;) mon.run_once(0ms);
    ASSERT_EQ(events.size(), 2u) << "fd() was not readable for the stop";
    EXPECT_EQ(events[1].watch, stopping);
    EXPECT_EQ(events[1].status->stopped_signal(), SIGSTOP);
    mon.find(stopping)->kill();
}

TEST(monitor, a_storm_of_stops_continues_and_deaths_loses_no_event_and_repeats_none) {
    constexpr int n = 1000;
    monitor mon({.report_stops = true});
    test_pipe p;
    std::vector<monitor::watch_id> ids;
    for (int i = 0; i < n; ++i) ids.push_back(mon.watch(waiter(p.read_end.get(), 0), i));

    auto each_once = [&](auto&& expected, const char* what) {
        std::vector<int> count(n);
        for (const event& e : pull(mon, n)) {
            ASSERT_EQ(e.from, source::child) << describe(e);
            ASSERT_EQ(e.watch, ids[e.tag]);
            ASSERT_TRUE(expected(*e.status)) << what << ": " << describe(e);
            ++count[e.tag];
        }
        for (int i = 0; i < n; ++i) ASSERT_EQ(count[i], 1) << what << " of child " << i;
        expect_quiet(mon);
    };
    for (auto id : ids) mon.find(id)->stop();
    each_once([](const wait_status& s) { return s.stopped_signal() == SIGSTOP; }, "stopped");
    for (auto id : ids) mon.find(id)->resume();
    each_once([](const wait_status& s) { return s.continued(); }, "continued");
    for (auto id : ids) mon.find(id)->kill();
    each_once([](const wait_status& s) { return s.signal() == SIGKILL; }, "killed");
    EXPECT_EQ(mon.watched(), 0u);
}

TEST(monitor, exits_of_adopted_orphans_are_reported_and_owned_children_keep_their_watch) {
    const subreaper_for_a_test subreaper;
    monitor mon({.init_of_tree = true});
    test_pipe p;
    const auto owned = mon.watch(waiter(p.read_end.get(), 5), 1);
    const auto middle = mon.watch(leaves_orphans(3, p), 2);
    auto events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].watch, middle);
    EXPECT_EQ(events[0].status->code(), 0);

    p.write_end.reset();
    std::multiset<int> orphan_codes;
    std::set<pid_t> orphan_pids;
    int owned_exits = 0;
    for (const event& e : pull(mon, 4)) {
        if (e.from == source::orphan) {
            orphan_codes.insert(e.status->code().value_or(-1));
            orphan_pids.insert(e.pid);
        } else {
            ASSERT_EQ(e.from, source::child) << describe(e);
            EXPECT_EQ(e.watch, owned);
            EXPECT_EQ(e.status->code(), 5);
            ++owned_exits;
        }
    }
    EXPECT_EQ(owned_exits, 1);
    EXPECT_EQ(orphan_codes, (std::multiset<int>{40, 41, 42}));
    EXPECT_EQ(orphan_pids.size(), 3u);
    expect_quiet(mon);
}

// A storm of orphans is reaped a batch per turn: run_once(0) hands out part of it, fd() stays
// readable while more wait (an embedding loop keeps calling), and in the end each is reported once.
TEST(monitor, a_storm_of_orphans_is_reported_in_batches_and_keeps_fd_readable_until_the_last) {
    constexpr int orphans = 150;
    const subreaper_for_a_test subreaper;
    monitor mon({.init_of_tree = true});
    test_pipe p;
    mon.watch(leaves_orphans(orphans, p));
    ASSERT_EQ(pull(mon, 1).size(), 1u);  // the middle process: its children are ours now
    p.write_end.reset();
    // Every orphan waitable before the monitor looks: one turn could otherwise see only a few. Not
    // just 'Z' in /proc: a leader whose other threads (a sanitizer's) are still exiting shows 'Z'
    // but cannot be reaped yet, and its SIGCHLD comes only when the last thread is gone.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        const std::vector<pid_t> kids = proc::children_of(::getpid());
        const auto zombies = std::count_if(kids.begin(), kids.end(), [](pid_t pid) {
            siginfo_t info{};
            return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
        });
        if (zombies == orphans) break;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << zombies << " of " << orphans << " orphans exited";
        std::this_thread::sleep_for(5ms);
    }

    std::set<pid_t> reported;
    mon.on_event([&](const event& e) {
        EXPECT_EQ(e.from, source::orphan) << describe(e);
        EXPECT_TRUE(reported.insert(e.pid).second) << "reported twice: " << describe(e);
    });
    const std::size_t first_turn = mon.run_once(0ms);
    EXPECT_GT(first_turn, 0u);
    EXPECT_LT(first_turn, static_cast<std::size_t>(orphans)) << "one turn reaped the whole storm";
    int turns = 1;
    while (reported.size() < static_cast<std::size_t>(orphans)) {
        pollfd ready{mon.fd(), POLLIN, 0};
        ASSERT_EQ(::poll(&ready, 1, 0), 1) << "fd() not readable with " << orphans - reported.size() << " orphans left";
        mon.run_once(0ms);
        ASSERT_LT(++turns, orphans) << "no progress";
    }
    EXPECT_EQ(reported.size(), static_cast<std::size_t>(orphans));
    EXPECT_TRUE(proc::children_of(::getpid()).empty()) << "a zombie was left";
    mon.on_event(nullptr);
    expect_quiet(mon);
}

TEST(monitor, timers_fire_in_deadline_order_then_in_the_order_they_were_added) {
    monitor mon;
    const auto base = monitor::clock::now();
    const std::map<std::uint64_t, monitor::clock::time_point> deadlines{
        {3, base + 60ms}, {1, base + 20ms}, {2, base + 40ms}, {11, base + 20ms}};
    mon.add_timer(deadlines.at(3), 3);
    mon.add_timer(deadlines.at(1), 1);
    const auto cancelled = mon.add_timer(base + 30ms, 99);
    mon.add_timer(deadlines.at(2), 2);
    mon.add_timer(deadlines.at(11), 11);
    EXPECT_TRUE(mon.cancel_timer(cancelled));
    EXPECT_FALSE(mon.cancel_timer(cancelled));

    std::vector<std::uint64_t> order;
    for (const event& e : pull(mon, 4)) {
        ASSERT_EQ(e.from, source::timer);
        EXPECT_GE(monitor::clock::now(), deadlines.at(e.tag)) << "timer " << e.tag << " fired early";
        order.push_back(e.tag);
    }
    EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 11, 2, 3}));
    expect_quiet(mon);
}

TEST(monitor, timers_already_due_fire_at_once_and_in_deadline_order) {
    monitor mon;
    const auto now = monitor::clock::now();
    const auto late = mon.add_timer(now - 1ms, 1);
    mon.add_timer(now - 5ms, 2);
    mon.add_timer(0ms, 3);
    std::vector<std::uint64_t> order;
    for (const event& e : pull(mon, 3, 1s)) order.push_back(e.tag);
    EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 1, 3}));
    EXPECT_FALSE(mon.cancel_timer(late));
}

TEST(monitor, a_handler_can_rearm_timers_as_a_backoff_and_run_returns_when_none_is_left) {
    monitor mon;
    std::vector<monitor::clock::time_point> fired;
    mon.on_event([&](const event& e) {
        ASSERT_EQ(e.from, source::timer);
        fired.push_back(monitor::clock::now());
        if (fired.size() < 4) mon.add_timer(std::chrono::milliseconds(5 << fired.size()), e.tag + 1);
    });
    mon.add_timer(5ms, 0);
    mon.run();
    ASSERT_EQ(fired.size(), 4u);
    for (std::size_t i = 1; i < fired.size(); ++i)
        EXPECT_GE(fired[i] - fired[i - 1], std::chrono::milliseconds(5 << i));
}

// Its own waits end at the earliest timer: no timerfd until an embedding loop asks for fd().
TEST(monitor, times_its_own_waits_without_a_timerfd_until_its_fd_is_asked_for) {
    const std::set<int> before = brood::testing::open_fds();
    monitor mon;
    const auto deadline = monitor::clock::now() + 20ms;
    mon.add_timer(deadline, 1);
    EXPECT_EQ(brood::testing::open_fds().size(), before.size() + 2) << "an epoll fd and the wake-up eventfd";
    const auto fired = mon.next_event(5s);
    ASSERT_TRUE(fired);
    EXPECT_EQ(fired->tag, 1u);
    EXPECT_GE(monitor::clock::now(), deadline);

    const auto due = monitor::clock::now() + 30ms;
    mon.add_timer(due, 2);
    pollfd ready{mon.fd(), POLLIN, 0};  // a timer added before fd() makes it readable too
    EXPECT_EQ(brood::testing::open_fds().size(), before.size() + 3) << "and now the timers' timerfd";
    ASSERT_EQ(::poll(&ready, 1, 5000), 1);
    EXPECT_GE(monitor::clock::now(), due);
    const auto second = mon.next_event(0ms);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->tag, 2u);
    EXPECT_EQ(::poll(&ready, 1, 0), 0);
    mon.add_timer(10ms, 3);  // and one added after it
    ASSERT_EQ(::poll(&ready, 1, 5000), 1);
    EXPECT_EQ(mon.run_once(0ms), 0u) << "no handler: the event stays queued";
    EXPECT_EQ(mon.pending(), 1u);
}

// precise_timers: the timerfd stands for the timers from the start, re-armed as the earliest
// deadline comes and goes; each timer fires once, in deadline order, never early.
TEST(monitor, with_precise_timers_a_timerfd_times_its_own_waits_from_the_start) {
    const std::set<int> before = brood::testing::open_fds();
    monitor_options options;
    options.precise_timers = true;
    monitor mon(options);
    EXPECT_EQ(brood::testing::open_fds().size(), before.size() + 3) << "an epoll fd, the wake-up eventfd, the timerfd";
    const auto start = monitor::clock::now();
    const monitor::timer_id cancelled = mon.add_timer(start + 5ms, 1);
    mon.add_timer(start + 40ms, 3);
    mon.add_timer(start + 20ms, 2);
    ASSERT_TRUE(mon.cancel_timer(cancelled));  // the timerfd was armed for this one
    std::vector<std::pair<std::uint64_t, monitor::clock::time_point>> fired;
    mon.on_event([&](const event& e) { fired.emplace_back(e.tag, monitor::clock::now()); });
    mon.run();
    ASSERT_EQ(fired.size(), 2u);
    EXPECT_EQ(fired[0].first, 2u);
    EXPECT_GE(fired[0].second, start + 20ms);
    EXPECT_EQ(fired[1].first, 3u);
    EXPECT_GE(fired[1].second, start + 40ms);
}

TEST(monitor, run_delivers_child_events_to_the_handler_until_nothing_is_watched) {
    monitor mon;
    test_pipe p;
    for (int code : {1, 2, 3}) mon.watch(waiter(p.read_end.get(), code));
    std::vector<int> codes;
    mon.on_event([&](const event& e) { codes.push_back(e.status->code().value_or(-1)); });
    p.write_end.reset();
    mon.run();
    std::sort(codes.begin(), codes.end());
    EXPECT_EQ(codes, (std::vector<int>{1, 2, 3}));
}

TEST(monitor, its_fd_drives_it_from_a_plain_poll_loop_next_to_other_fds) {
    monitor mon;
    int exits = 0;
    mon.on_event([&](const event& e) {
        if (e.from == source::child) ++exits;
    });
    test_pipe p, other;
    for (int i = 0; i < 20; ++i) mon.watch(waiter(p.read_end.get(), 0));
    p.write_end.reset();
    ASSERT_EQ(::write(other.write_end.get(), "x", 1), 1);
    bool other_seen = false;
    while (exits < 20 || !other_seen) {
        pollfd fds[2] = {{mon.fd(), POLLIN, 0}, {other.read_end.get(), POLLIN, 0}};
        ASSERT_GT(::poll(fds, 2, 30000), 0) << "poll timed out with " << exits << " exits";
        if ((fds[0].revents & POLLIN) != 0) mon.run_once(0ms);
        if ((fds[1].revents & POLLIN) != 0) {
            char byte;
            ASSERT_EQ(::read(other.read_end.get(), &byte, 1), 1);
            other_seen = true;
        }
    }
    EXPECT_EQ(exits, 20);
}

TEST(monitor, its_fd_stays_readable_while_pulled_events_remain_queued) {
    monitor mon;
    test_pipe p;
    std::vector<int> pidfds;
    for (int i = 0; i < 5; ++i) pidfds.push_back(mon.find(mon.watch(waiter(p.read_end.get(), 0)))->pidfd());
    p.write_end.reset();
    for (int pidfd : pidfds) {  // every child has exited (WNOWAIT: none is reaped yet)
        siginfo_t info{};
        ASSERT_EQ(::waitid(P_PIDFD, pidfd, &info, WEXITED | WNOWAIT), 0);
    }
    ASSERT_TRUE(mon.next_event(5s));
    EXPECT_EQ(mon.pending(), 4u);
    pollfd ready{mon.fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&ready, 1, 0), 1);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(mon.next_event(0ms));
    EXPECT_EQ(mon.run_once(0ms), 0u);
    EXPECT_EQ(::poll(&ready, 1, 0), 0);
}

TEST(monitor, an_fd_watch_calls_back_until_removed_even_from_its_own_callback) {
    monitor mon;
    test_pipe p;
    int calls = 0;
    mon.add_fd(p.read_end.get(), EPOLLIN, [&](int fd, std::uint32_t revents) {
        ++calls;
        EXPECT_EQ(fd, p.read_end.get());
        EXPECT_NE(revents & EPOLLIN, 0u);
        char byte;
        ASSERT_EQ(::read(fd, &byte, 1), 1);
        if (calls == 2) {
            EXPECT_TRUE(mon.remove_fd(fd));
        }
    });
    EXPECT_THROW(mon.add_fd(p.read_end.get(), EPOLLIN, [](int, std::uint32_t) {}), std::invalid_argument);
    ASSERT_EQ(::write(p.write_end.get(), "a", 1), 1);
    mon.run_once(5s);
    EXPECT_EQ(calls, 1);
    ASSERT_EQ(::write(p.write_end.get(), "b", 1), 1);
    EXPECT_FALSE(mon.next_event(200ms));  // fd callbacks run while next_event waits
    EXPECT_EQ(calls, 2);
    ASSERT_EQ(::write(p.write_end.get(), "c", 1), 1);
    mon.run_once(50ms);
    EXPECT_EQ(calls, 2);
    EXPECT_FALSE(mon.remove_fd(p.read_end.get()));
}

TEST(monitor, calls_from_another_thread_are_refused_with_a_clear_error) {
    monitor mon;
    std::string message;
    std::thread([&] {
        try {
            mon.add_timer(1s);
        } catch (const std::logic_error& e) {
            message = e.what();
        }
    }).join();
    EXPECT_NE(message.find("add_timer: called from a thread that does not own this monitor"), std::string::npos)
        << message;
    expect_quiet(mon, 10ms);
}

TEST(monitor, post_hands_a_child_over_from_another_thread) {
    monitor mon;
    std::thread worker([&] {
        child c = exiting(9);
        mon.post([c = std::move(c)](monitor& loop) mutable { loop.watch(std::move(c), 9); });
    });
    const auto events = pull(mon, 1);
    worker.join();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].tag, 9u);
    EXPECT_EQ(events[0].status->code(), 9);
}

// Readable now: the monitor's fd, which an embedding loop waits on, says a turn is due.
// What this process's eventfds count, summed (their fdinfo): a monitor's is its wake-ups not yet read.
std::uint64_t eventfd_counts() {
    std::uint64_t sum = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        if (std::filesystem::read_symlink(entry.path(), error) != "anon_inode:[eventfd]") continue;
        std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
        for (std::string line; std::getline(info, line);)
            if (line.starts_with("eventfd-count:")) sum += std::stoull(line.substr(line.find_first_not_of(" \t", 14)), nullptr, 16);
    }
    return sum;
}

bool turn_due(monitor& mon) {
    pollfd p{mon.fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

TEST(monitor, a_task_posted_from_a_handler_runs_before_run_once_returns_without_a_wake_up) {
    monitor mon;
    (void)mon.fd();
    std::vector<std::string> order;
    mon.on_event([&](const event& e) {
        order.push_back("event " + std::to_string(e.tag));
        mon.post([&](monitor&) { order.push_back("task"); });
    });
    mon.watch(exiting(3), 1);
    mon.watch(exiting(4), 2);
    std::size_t handled = 0;
    while (handled < 2) handled += mon.run_once(60s);
    // Each task after the events of its turn, none left for a later one.
    ASSERT_GE(order.size(), 4u);
    EXPECT_EQ(order.back(), "task");
    EXPECT_EQ(std::count(order.begin(), order.end(), "task"), 2);
    EXPECT_NE(order.front(), "task");
    EXPECT_FALSE(turn_due(mon));
    EXPECT_EQ(mon.run_once(0ms), 0u);
    EXPECT_EQ(std::count(order.begin(), order.end(), "task"), 2);
}

TEST(monitor, a_task_posted_from_an_fd_callback_runs_in_that_turn_and_one_that_posts_itself_once_a_turn) {
    monitor mon;
    (void)mon.fd();
    test_pipe p;
    int runs = 0;
    std::function<void(monitor&)> again = [&](monitor& loop) {
        if (++runs < 3) loop.post(again);
    };
    mon.add_fd(p.read_end.get(), EPOLLIN, [&](int fd, std::uint32_t) {
        char byte;
        ASSERT_EQ(::read(fd, &byte, 1), 1);
        mon.post(again);
    });
    ASSERT_EQ(::write(p.write_end.get(), "x", 1), 1);
    mon.run_once(60s);
    EXPECT_EQ(runs, 1);
    // What a task posts is for the next turn, which the loop is woken for.
    EXPECT_TRUE(turn_due(mon));
    mon.run_once(0ms);
    EXPECT_EQ(runs, 2);
    mon.run_once(0ms);
    EXPECT_EQ(runs, 3);
    EXPECT_FALSE(turn_due(mon));
    mon.run_once(0ms);
    EXPECT_EQ(runs, 3);
}

// Run by its own loop (no fd() given out), a task that posts itself runs once a turn, and the turn
// after it does not sleep: each run_once(60s) returns at once. Once fd() is given to an embedding
// loop, a task still waiting makes it readable.
TEST(monitor, a_task_that_posts_itself_runs_once_a_turn_and_the_next_turn_does_not_sleep) {
    monitor mon;
    mon.on_event([](const event&) {});
    int runs = 0;
    std::function<void(monitor&)> again = [&](monitor& loop) {
        if (++runs < 4) loop.post(again);
    };
    mon.post(again);
    const auto began = std::chrono::steady_clock::now();
    for (int turn = 1; turn <= 3; ++turn) {
        mon.run_once(60s);
        EXPECT_EQ(runs, turn);
        EXPECT_EQ(eventfd_counts(), 0u) << "the loop was woken for the task of turn " << turn + 1;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - began, 30s) << "a turn slept with a task waiting";
    EXPECT_TRUE(turn_due(mon)) << "the fourth run waits, and an embedding loop is not told";
    mon.run_once(0ms);
    EXPECT_EQ(runs, 4);
    EXPECT_FALSE(turn_due(mon));
}

TEST(monitor, a_task_posted_by_a_handler_that_then_throws_still_runs_in_the_next_turn) {
    monitor mon;
    bool ran = false;
    mon.on_event([&](const event&) {
        mon.post([&](monitor&) { ran = true; });
        throw std::runtime_error("handler failed");
    });
    mon.watch(exiting(0), 1);
    EXPECT_THROW(while (mon.run_once(60s) == 0) {}, std::runtime_error);
    EXPECT_FALSE(ran);
    EXPECT_TRUE(turn_due(mon));
    mon.on_event([](const event&) {});
    mon.run_once(60s);
    EXPECT_TRUE(ran);
}

TEST(monitor, stop_from_another_thread_ends_run_and_next_event) {
    monitor mon;
    mon.on_event([](const event&) {});
    mon.add_timer(60s);
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        mon.stop();
        std::this_thread::sleep_for(20ms);
        mon.stop();
    });
    const auto start = monitor::clock::now();
    mon.run();
    EXPECT_FALSE(mon.next_event());
    EXPECT_LT(monitor::clock::now() - start, 30s);
    stopper.join();
}

TEST(monitor, run_once_inside_one_of_its_callbacks_is_refused) {
    monitor mon;
    mon.add_timer(0ms);
    mon.on_event([&](const event&) { mon.run_once(0ms); });
    EXPECT_THROW(mon.run_once(5s), std::logic_error);
}

TEST(monitor, destroying_it_kills_and_reaps_the_children_it_owns) {
    test_pipe p;
    {
        monitor mon;
        for (int i = 0; i < 50; ++i) mon.watch(waiter(p.read_end.get(), 0));
        child gentle = waiter(p.read_end.get(), 0);
        gentle.set_drop_policy(drop_policy::terminate(1000ms));
        mon.watch(std::move(gentle));
    }
    EXPECT_TRUE(brood::testing::own_children().empty());
}

TEST(monitor, release_gives_the_child_back_and_stops_reporting_it) {
    monitor mon;
    test_pipe p;
    const auto id = mon.watch(waiter(p.read_end.get(), 3), 7);
    child c = mon.release(id);
    ASSERT_TRUE(c);
    EXPECT_EQ(mon.watched(), 0u);
    EXPECT_EQ(mon.find(id), nullptr);
    EXPECT_FALSE(mon.release(id));
    p.write_end.reset();
    EXPECT_EQ(c.wait().code(), 3);
    expect_quiet(mon);
}

TEST(monitor, a_child_reaped_before_it_is_watched_is_reported_at_once) {
    monitor mon;
    child c = exiting(4);
    c.wait();
    const auto id = mon.watch(std::move(c), 1);
    const auto e = mon.next_event(0ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->watch, id);
    EXPECT_EQ(e->status->code(), 4);
    EXPECT_EQ(mon.watched(), 0u);
}

TEST(monitor, forked_copies_of_its_pidfds_do_not_make_it_report_an_exit_twice) {
    monitor mon;
    test_pipe p, hold;
    std::set<std::uint64_t> tags;
    for (int i = 0; i < 10; ++i) mon.watch(waiter(p.read_end.get(), 0), i);
    // A forked process holds copies of every pidfd until we let it go.
    child holder = brood::fork([&] {
        p.write_end.reset();
        hold.write_end.reset();
        char byte;
        while (::read(hold.read_end.get(), &byte, 1) > 0) {
        }
    });
    p.write_end.reset();
    for (const event& e : pull(mon, 10)) EXPECT_TRUE(tags.insert(e.tag).second) << describe(e);
    EXPECT_EQ(tags.size(), 10u);
    expect_quiet(mon, 200ms);
    hold.write_end.reset();
    EXPECT_EQ(holder.wait().code(), 0);
}

TEST(monitor, a_stop_of_a_child_it_does_not_watch_is_left_to_its_owner) {
    monitor mon({.report_stops = true});
    test_pipe p;
    child outsider = waiter(p.read_end.get(), 0);  // older, so first in the kernel's list of children
    const auto id = mon.watch(waiter(p.read_end.get(), 0));
    ASSERT_TRUE(outsider.stop());
    siginfo_t info{};  // the outsider's stop is pending (peeked, not consumed)
    ASSERT_EQ(::waitid(P_PID, outsider.pid(), &info, WSTOPPED | WNOWAIT), 0);
    ASSERT_TRUE(mon.find(id)->stop());
    const auto events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].watch, id);
    EXPECT_EQ(events[0].status->stopped_signal(), SIGSTOP);
    expect_quiet(mon);
    const auto mine = outsider.try_wait(wait_events::stop);
    ASSERT_TRUE(mine);
    EXPECT_EQ(mine->stopped_signal(), SIGSTOP);
}

TEST(monitor, a_stop_of_a_child_it_does_not_watch_is_reported_as_unwatched_when_asked) {
    monitor mon({.report_stops = true, .unwatched = unwatched_stops::consume});
    test_pipe p;
    child outsider = waiter(p.read_end.get(), 0);
    ASSERT_TRUE(outsider.stop());
    const auto events = pull(mon, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].from, source::unwatched);
    EXPECT_EQ(events[0].pid, outsider.pid());
    EXPECT_EQ(events[0].status->stopped_signal(), SIGSTOP);
    EXPECT_FALSE(outsider.try_wait(wait_events::stop));
}

TEST(monitor, reporting_exits_only_leaves_the_signal_mask_alone) {
    ASSERT_FALSE(blocked(SIGCHLD));
    monitor mon;
    EXPECT_FALSE(blocked(SIGCHLD));
}

TEST(monitor, reporting_stops_blocks_sigchld_while_it_lives_then_restores_the_mask) {
    ASSERT_FALSE(blocked(SIGCHLD));
    {
        monitor mon({.report_stops = true});
        EXPECT_TRUE(blocked(SIGCHLD));
    }
    EXPECT_FALSE(blocked(SIGCHLD));
}

// The program's signals come through the signalfd that reads SIGCHLD: one fd for both, and a
// child's stop is still reported while other processes signal the program.
TEST(monitor, receives_a_programs_signals_through_the_signalfd_it_reads_sigchld_from) {
    ASSERT_FALSE(blocked(SIGUSR1));
    const std::set<int> before = brood::testing::open_fds();
    {
        monitor mon({.report_stops = true});
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGUSR2);
        sigaddset(&set, SIGCHLD);  // left out: SIGCHLD stays the monitor's
        std::vector<monitor::signal_info> received;
        mon.receive_signals(set, [&](const monitor::signal_info& info) { received.push_back(info); });
        EXPECT_THROW(mon.receive_signals(set, [](const monitor::signal_info&) {}), std::logic_error);
        EXPECT_TRUE(blocked(SIGUSR1));
        EXPECT_EQ(brood::testing::open_fds().size(), before.size() + 3) << "epoll, eventfd and one signalfd";

        test_pipe p;
        const auto stopping = mon.watch(waiter(p.read_end.get(), 0));
        // Each sender signals, then waits for its own second signal to be taken before it exits.
        std::vector<pid_t> senders;
        for (int i = 0; i < 20; ++i) {
            const char* script = i % 2 == 0 ? "kill -USR1 $PPID" : "kill -USR2 $PPID";
            senders.push_back(mon.find(mon.watch(command("sh").arg("-c").arg(script).spawn()))->pid());
        }
        ASSERT_TRUE(mon.find(stopping)->stop());
        bool stop_seen = false;
        std::size_t exits = 0;
        const auto deadline = monitor::clock::now() + 30s;
        while ((!stop_seen || exits < senders.size() || received.empty()) && monitor::clock::now() < deadline) {
            if (auto e = mon.next_event(100ms)) {
                if (e->watch == stopping && e->status->stopped_signal() == SIGSTOP) stop_seen = true;
                else if (e->status && e->status->terminal()) ++exits;
            }
        }
        EXPECT_TRUE(stop_seen);
        EXPECT_EQ(exits, senders.size());
        // Standard signals of one number pending together merge into one: at least one of each came.
        mon.run_once(0ms);
        ASSERT_FALSE(received.empty());
        std::set<int> numbers;
        for (const monitor::signal_info& info : received) {
            numbers.insert(info.signal);
            EXPECT_EQ(info.code, SI_USER);
            EXPECT_NE(std::find(senders.begin(), senders.end(), info.sender), senders.end()) << info.sender;
        }
        EXPECT_EQ(numbers, (std::set<int>{SIGUSR1, SIGUSR2}));
        ASSERT_TRUE(mon.find(stopping)->kill());
    }
    EXPECT_FALSE(blocked(SIGUSR1)) << "the monitor unblocks what it blocked";
    EXPECT_FALSE(blocked(SIGCHLD));
    EXPECT_EQ(brood::testing::open_fds(), before);
}

// A monitor that reads no SIGCHLD makes a signalfd for the program's signals alone.
TEST(monitor, receives_a_programs_signals_without_reading_sigchld) {
    monitor mon;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    std::optional<monitor::signal_info> received;
    mon.receive_signals(set, [&](const monitor::signal_info& info) { received = info; });
    EXPECT_FALSE(blocked(SIGCHLD));
    const child sender = command("sh").arg("-c").arg("kill -USR1 $PPID").spawn();
    const auto deadline = monitor::clock::now() + 30s;
    while (!received && monitor::clock::now() < deadline) mon.run_once(100ms);
    ASSERT_TRUE(received);
    EXPECT_EQ(received->signal, SIGUSR1);
    EXPECT_EQ(received->sender, sender.pid());
}

TEST(monitor, run_waits_for_signals_when_nothing_else_is_watched) {
    monitor mon;
    mon.on_event([](const monitor::event&) {});
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    std::optional<monitor::signal_info> received;
    mon.receive_signals(set, [&](const monitor::signal_info& info) {
        received = info;
        mon.stop();
    });
    const child sender = command("sh").arg("-c").arg("sleep 0.2; kill -USR2 $PPID").spawn();
    mon.run();  // returns at stop(): the signal callback alone keeps the loop going
    ASSERT_TRUE(received);
    EXPECT_EQ(received->signal, SIGUSR2);
    EXPECT_EQ(received->sender, sender.pid());
}

TEST(monitor, only_one_monitor_per_process_may_read_sigchld) {
    const subreaper_for_a_test subreaper;  // so that init_of_tree is refused for reading SIGCHLD only
    monitor first({.report_stops = true});
    EXPECT_THROW({ monitor second({.init_of_tree = true}); }, std::logic_error);
    monitor exits_only;
    EXPECT_TRUE(blocked(SIGCHLD));
}

TEST(monitor, an_ignored_sigchld_is_refused) {
    struct sigaction ignore {}, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGCHLD, &ignore, &old);
    EXPECT_THROW({ monitor mon; }, std::logic_error);
    ::sigaction(SIGCHLD, &old, nullptr);
}

TEST(monitor, the_poll_loop_example_reports_each_event_of_its_children) {
    const std::string path = std::string(BROOD_EXAMPLES_DIR) + "/monitor_poll_loop";
    if (::access(path.c_str(), X_OK) != 0) GTEST_SKIP() << "examples not built: " << path;
    output_options options;
    options.timeout = 30s;
    const process_output result = command(path).output(options);
    ASSERT_TRUE(result.status.success()) << result.status.to_string() << '\n' << result.out << result.err;
    const std::string& out = result.out;
    auto at = [&](const std::string& text) {
        const auto position = out.find(text);
        EXPECT_NE(position, std::string::npos) << "missing \"" << text << "\" in:\n" << out;
        return position;
    };
    at("read from pipe: hello from a pipe");
    at("talker  pid ");
    at("exited with code 3");
    const auto stopped = at("stopped by SIGSTOP");
    const auto continued = at("continued");
    const auto ended = at("killed by SIGTERM");
    EXPECT_LT(stopped, continued);
    EXPECT_LT(continued, ended);
}
