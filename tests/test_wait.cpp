// The waitpid selector model: one child, any child, own group, a group; events; no_hang; ECHILD; EINTR.
#include <brood/fork.hpp>
#include <brood/wait.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

using namespace brood;
using namespace std::chrono_literals;

namespace {

child_event expect_event(const wait_result& result) {
    EXPECT_TRUE(std::holds_alternative<child_event>(result));
    return std::holds_alternative<child_event>(result) ? std::get<child_event>(result) : child_event{0, exited{-1}};
}

// A child in process group pgid (0: a new group it leads). setpgid in both processes, so the
// group exists whichever runs first.
child in_group(pid_t pgid, int code, std::chrono::milliseconds delay = 0ms) {
    child c = brood::fork([pgid, code, delay] {
        ::setpgid(0, pgid);
        std::this_thread::sleep_for(delay);
        return code;
    });
    ::setpgid(c.pid(), pgid);
    return c;
}

}  // namespace

TEST(wait_child, no_children_is_a_value) {
    EXPECT_TRUE(std::holds_alternative<no_children>(wait_child(wait_selector::any())));
    EXPECT_TRUE(std::holds_alternative<no_children>(wait_child(wait_selector::any(), wait_events::all, wait_mode::no_hang)));
    EXPECT_TRUE(std::holds_alternative<no_children>(wait_child(wait_selector::process(1))));
}

TEST(wait_child, one_child_by_pid) {
    child a = brood::fork([] { return 1; });
    child b = brood::fork([] { return 2; });
    auto ev = expect_event(wait_child(wait_selector::process(b.pid())));
    EXPECT_EQ(ev.pid, b.pid());
    EXPECT_EQ(ev.status.code(), 2);
    EXPECT_EQ(a.wait().code(), 1);
}

TEST(wait_child, any_child) {
    child a = brood::fork([] { return 3; });
    child b = brood::fork([] { return 4; });
    std::set<pid_t> seen;
    for (int i = 0; i < 2; ++i) seen.insert(expect_event(wait_child(wait_selector::any())).pid);
    EXPECT_EQ(seen, (std::set<pid_t>{a.pid(), b.pid()}));
    EXPECT_EQ(a.wait().code(), 3);  // the handles learned their statuses
    EXPECT_EQ(b.wait().code(), 4);
    EXPECT_TRUE(std::holds_alternative<no_children>(wait_child(wait_selector::any())));
}

// The registry that hands a status reaped by selector to its handle starts in a small table of
// its own, and the handles' states in what is left of the mapping beside it: 2,500 handles at once
// outgrow both, and every handle still learns its own child's status.
TEST(wait_child, any_child_with_thousands_of_handles) {
    constexpr int count = 2500;
    std::vector<child> children;
    children.reserve(count);
    for (int i = 0; i < count; ++i) children.push_back(brood::fork([i] { return i % 256; }));
    for (int i = 0; i < count; ++i) ASSERT_TRUE(std::holds_alternative<child_event>(wait_child(wait_selector::any())));
    for (int i = 0; i < count; ++i) EXPECT_EQ(children[i].wait().code(), i % 256) << "child " << i;
    EXPECT_TRUE(std::holds_alternative<no_children>(wait_child(wait_selector::any(), wait_events::all, wait_mode::no_hang)));
}

TEST(wait_child, a_process_group_and_own_group) {
    child leader = in_group(0, 10, 20ms);
    child member = in_group(leader.pid(), 11, 20ms);
    child outsider = brood::fork([] {
        std::this_thread::sleep_for(50ms);
        return 12;
    });
    std::set<pid_t> group;
    for (int i = 0; i < 2; ++i) group.insert(expect_event(wait_child(wait_selector::group(leader.pid()))).pid);
    EXPECT_EQ(group, (std::set<pid_t>{leader.pid(), member.pid()}));
    EXPECT_TRUE(std::holds_alternative<no_children>(wait_child(wait_selector::group(leader.pid()))));
    // The outsider stayed in our own group.
    auto ev = expect_event(wait_child(wait_selector::own_group()));
    EXPECT_EQ(ev.pid, outsider.pid());
    EXPECT_EQ(ev.status.code(), 12);
}

TEST(wait_child, no_hang_reports_no_change) {
    child c = brood::fork([] {
        for (;;) ::pause();
    });
    EXPECT_TRUE(std::holds_alternative<no_change>(wait_child(wait_selector::process(c.pid()), wait_events::exit, wait_mode::no_hang)));
    c.kill();
    c.wait();
}

TEST(wait_child, stop_and_continue_events) {
    child c = brood::fork([] {
        for (;;) ::pause();
    });
    ::kill(c.pid(), SIGSTOP);
    auto ev = expect_event(wait_child(wait_selector::process(c.pid()), wait_events::all));
    EXPECT_EQ(ev.status.stopped_signal(), SIGSTOP);
    ::kill(c.pid(), SIGCONT);
    EXPECT_TRUE(expect_event(wait_child(wait_selector::any(), wait_events::cont)).status.continued());
    ::kill(c.pid(), SIGTERM);
    EXPECT_EQ(expect_event(wait_child(wait_selector::any(), wait_events::all)).status.signal(), SIGTERM);
}

namespace {
volatile sig_atomic_t alarms = 0;
void on_alarm(int) { alarms = alarms + 1; }
}  // namespace

TEST(wait_child, eintr_is_retried) {
    struct sigaction action {}, previous{};
    action.sa_handler = on_alarm;  // no SA_RESTART: waitid fails with EINTR
    ASSERT_EQ(::sigaction(SIGALRM, &action, &previous), 0);
    alarms = 0;
    const itimerval every_10ms{{0, 10000}, {0, 10000}};
    ::setitimer(ITIMER_REAL, &every_10ms, nullptr);
    child c = brood::fork([] {
        std::this_thread::sleep_for(200ms);
        return 6;
    });
    auto ev = expect_event(wait_child(wait_selector::any()));
    const itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &previous, nullptr);
    EXPECT_EQ(ev.status.code(), 6);
    EXPECT_GT(alarms, 2);
}
