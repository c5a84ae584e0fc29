// The child handle: waits, signals through the pidfd, terminate, drop policies.
#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/fork.hpp>
#include <brood/wait.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

using namespace brood;
using namespace std::chrono_literals;

namespace {

// A child that sleeps until signalled (pause() returns only for a caught signal).
child sleeper() {
    return brood::fork([] {
        for (;;) ::pause();
    });
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

char state_of(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close == std::string::npos ? '?' : line[close + 2];
}

}  // namespace

TEST(child, every_exit_code_from_0_to_255) {
    for (int code = 0; code <= 255; ++code) {
        child c = brood::fork([code] { return code; });
        const wait_status status = c.wait();
        ASSERT_EQ(status.code(), code);
        ASSERT_EQ(status.shell_code(), code);
    }
}

TEST(child, killed_by_each_common_signal_reports_that_signal) {
    for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV,
                       SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGXCPU, SIGXFSZ, SIGSYS}) {
        child c = brood::fork([signal] {
            const rlimit no_core{0, 0};
            ::setrlimit(RLIMIT_CORE, &no_core);
            ::signal(signal, SIG_DFL);  // sanitizers catch SIGSEGV, SIGBUS, SIGFPE
            ::raise(signal);
            return 99;
        });
        const wait_status status = c.wait();
        ASSERT_EQ(status.signal(), signal) << status.to_string();
        EXPECT_EQ(status.shell_code(), 128 + signal);
    }
}

TEST(child, wait_again_returns_the_same_status) {
    child c = brood::fork([] { return 7; });
    EXPECT_EQ(c.wait().code(), 7);
    EXPECT_EQ(c.wait().code(), 7);
    EXPECT_EQ(c.try_wait()->code(), 7);
    EXPECT_EQ(c.exit_status()->code(), 7);
}

TEST(child, try_wait_does_not_block) {
    child c = sleeper();
    EXPECT_FALSE(c.try_wait().has_value());
    EXPECT_FALSE(c.exit_status().has_value());
    c.kill();
    EXPECT_EQ(c.wait().signal(), SIGKILL);
}

TEST(child, wait_for_times_out_then_sees_the_exit) {
    child c = sleeper();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(c.wait_for(50ms).has_value());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    c.send_signal(SIGUSR1);
    auto status = c.wait_for(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->signal(), SIGUSR1);
}

TEST(child, stop_and_continue_are_reported_as_events) {
    child c = sleeper();
    ASSERT_TRUE(c.stop());
    EXPECT_EQ(c.wait(wait_events::all), wait_status(stopped{SIGSTOP}));
    EXPECT_EQ(state_of(c.pid()), 'T');
    ASSERT_TRUE(c.resume());
    EXPECT_TRUE(c.wait(wait_events::all).continued());
    // Exit-only waits do not report stops. Block until the stop can be reported, without taking
    // it (WNOWAIT): /proc may still show 'T' from the first stop for a moment after SIGCONT.
    c.stop();
    siginfo_t pending{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(c.pid()), &pending, WSTOPPED | WNOWAIT), 0);
    EXPECT_FALSE(c.try_wait(wait_events::exit).has_value());
    const std::optional<wait_status> stop = c.try_wait(wait_events::stop | wait_events::cont);
    ASSERT_TRUE(stop.has_value());
    EXPECT_EQ(stop->stopped_signal(), SIGSTOP);
    c.kill();
    EXPECT_EQ(c.wait().signal(), SIGKILL);
}

TEST(child, a_child_that_exits_while_stopped) {
    child c = sleeper();
    c.stop();
    EXPECT_TRUE(c.wait(wait_events::stop).stopped_signal());
    c.send_signal(SIGTERM);  // pending until continued: SIGTERM does not act on a stopped process
    EXPECT_FALSE(c.wait_for(50ms).has_value());
    c.kill();
    EXPECT_EQ(c.wait(wait_events::all).signal(), SIGKILL);
}

TEST(child, send_signal_after_reaping_returns_false) {
    child c = brood::fork([] { return 0; });
    c.wait();
    EXPECT_FALSE(c.send_signal(SIGTERM));
    EXPECT_FALSE(c.kill());
}

TEST(child, terminate_uses_sigterm_first) {
    child c = sleeper();
    EXPECT_EQ(c.terminate(5s).signal(), SIGTERM);
}

TEST(child, terminate_continues_a_stopped_child) {
    child c = sleeper();
    c.stop();
    c.wait(wait_events::stop);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(c.terminate(5s).signal(), SIGTERM);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(child, terminate_falls_back_to_sigkill_when_sigterm_is_ignored) {
    child c = brood::fork([] {
        ::signal(SIGTERM, SIG_IGN);
        for (;;) ::pause();
    });
    // Let it install SIG_IGN before the SIGTERM arrives.
    for (int i = 0; i < 500; ++i) {
        std::ifstream status("/proc/" + std::to_string(c.pid()) + "/status");
        std::string line;
        bool ignoring = false;
        while (std::getline(status, line))
            if (line.rfind("SigIgn:", 0) == 0) ignoring = (std::stoull(line.substr(7), nullptr, 16) >> (SIGTERM - 1)) & 1;
        if (ignoring) break;
        std::this_thread::sleep_for(1ms);
    }
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(c.terminate(100ms).signal(), SIGKILL);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(child, destructor_kills_and_reaps_by_default) {
    pid_t pid = 0;
    {
        child c = sleeper();
        pid = c.pid();
        ASSERT_TRUE(process_exists(pid));
    }
    EXPECT_FALSE(process_exists(pid));  // no zombie either: kill(pid, 0) succeeds on zombies
}

TEST(child, destructor_with_terminate_policy) {
    pid_t pid = 0;
    {
        child c = sleeper();
        c.set_drop_policy(drop_policy::terminate(1s));
        EXPECT_EQ(c.get_drop_policy().what, drop_policy::action::terminate);
        pid = c.pid();
    }
    EXPECT_FALSE(process_exists(pid));
}

TEST(child, detached_child_keeps_running_and_is_reaped_when_it_exits) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    child c = brood::fork([&] {
        char byte;
        ::close(ready[1]);
        return static_cast<int>(::read(ready[0], &byte, 1));  // runs until the parent closes the pipe
    });
    ::close(ready[0]);
    const pid_t pid = c.pid();
    c.set_drop_policy(drop_policy::detach());
    { child gone = std::move(c); }
    EXPECT_FALSE(static_cast<bool>(c));
    ASSERT_TRUE(process_exists(pid));
    EXPECT_NE(state_of(pid), 'Z');
    ::close(ready[1]);  // now it exits; the reaper thread must reap it
    for (int i = 0; i < 500 && process_exists(pid); ++i) std::this_thread::sleep_for(2ms);
    EXPECT_FALSE(process_exists(pid)) << "detached child still there, state " << state_of(pid);
}

TEST(child, empty_handle_refuses_clearly) {
    child c;
    EXPECT_FALSE(static_cast<bool>(c));
    EXPECT_EQ(c.pid(), 0);
    EXPECT_THROW(c.wait(), std::logic_error);
    child d = sleeper();
    child e = std::move(d);
    EXPECT_THROW(d.kill(), std::logic_error);
    EXPECT_TRUE(e.kill());
    e.wait();
}

TEST(child, adopt_a_raw_fork) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(5);
    child c = child::adopt(pid);
    EXPECT_GE(c.pidfd(), 0);
    EXPECT_EQ(c.wait().code(), 5);
}

TEST(child, a_handle_copied_into_a_forked_child_is_inert_there) {
    child sibling = sleeper();
    child checker = brood::fork([&] {
        // The copy of `sibling` here belongs to the parent: no signal, no wait, and its
        // destructor at _exit is never run anyway; calling wait must refuse.
        if (sibling.send_signal(SIGKILL)) return 1;
        try {
            sibling.wait();
            return 2;
        } catch (const std::logic_error&) {
            return 0;
        }
    });
    EXPECT_EQ(checker.wait().code(), 0);
    EXPECT_FALSE(sibling.try_wait().has_value());  // still alive: the copy did not kill it
    sibling.kill();
    sibling.wait();
}

TEST(child, a_handle_destroyed_in_a_forked_child_closes_its_copies_of_the_fds_and_nothing_more) {
    child cat = command("cat").set_stdin(stdio::pipe()).set_stdout(stdio::null()).spawn();
    int go[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    unique_fd go_read(go[0]), go_write(go[1]);
    child holder = brood::fork([&] {
        { child copy = std::move(cat); }  // the copy's drop policy is kill: here it must not act
        char byte = 0;
        return ::read(go_read.get(), &byte, 1) == 1 ? 0 : 1;  // stays alive until the parent looked
    });
    // cat reads EOF only once every write end of its stdin is closed, the forked copy's too.
    cat.stdin_pipe().reset();
    const std::optional<wait_status> status = cat.wait_for(10s);
    ASSERT_TRUE(status.has_value()) << "cat did not see EOF: the forked copy kept its stdin open";
    EXPECT_EQ(status->code(), 0) << status->to_string();
    ASSERT_EQ(::write(go_write.get(), "x", 1), 1);
    EXPECT_EQ(holder.wait().code(), 0);
}

TEST(child, status_reaped_by_selector_reaches_the_handle) {
    child c = brood::fork([] { return 9; });
    auto result = wait_child(wait_selector::process(c.pid()));
    ASSERT_TRUE(std::holds_alternative<child_event>(result));
    EXPECT_EQ(std::get<child_event>(result).status.code(), 9);
    EXPECT_EQ(c.wait().code(), 9);
    EXPECT_FALSE(c.send_signal(SIGTERM));
}
