// fork(fn), fork_here, fork_call: flushing, _exit, exceptions, results.
#include <brood/fork.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

using namespace brood;

namespace {

// Set in a forked child to make every later operator new throw std::bad_alloc there: a child out of
// memory, on demand. The replacement below is this test program's only allocator.
std::atomic<bool> fail_allocations{false};

}  // namespace

// With optimisation GCC inlines these two into their callers and, seeing free() given what operator
// new returned, warns of a mismatch (-Wmismatched-new-delete): here they are one allocator's halves.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
    if (fail_allocations.load(std::memory_order_relaxed)) throw std::bad_alloc();
    if (void* p = std::malloc(size != 0 ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

struct point {
    int x;
    double y;
};

// Runs body in a forked child with its stdout sent to a pipe; returns what the child wrote.
template <class F>
std::string stdout_of(F body) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    child c = brood::fork([&] {
        ::close(out[0]);
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[1]);
        std::setvbuf(stdout, nullptr, _IOFBF, 4096);  // a pipe is fully buffered: the dangerous case
        body();
        return 0;
    });
    ::close(out[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(out[0]);
    EXPECT_EQ(c.wait().code(), 0);
    return text;
}

}  // namespace

TEST(fork, returns_the_callables_code) {
    EXPECT_EQ(brood::fork([] { return 42; }).wait().code(), 42);
    EXPECT_EQ(brood::fork([] {}).wait().code(), 0);
}

TEST(fork, buffered_output_is_printed_once) {
    const std::string text = stdout_of([] {
        std::printf("before fork;");  // still in the buffer when the nested fork happens
        brood::fork([] { std::printf("in child;"); }).wait();
        std::printf("after wait;");
    });
    EXPECT_EQ(text, "before fork;in child;after wait;");
}

// Unsynchronized from stdio, std::cout keeps a buffer of its own: flushed before the fork (not
// printed twice) and by the child on its way out (not lost).
TEST(fork, a_cpp_stream_with_its_own_buffer_is_printed_once_and_not_lost) {
    const std::string text = stdout_of([] {
        std::ios_base::sync_with_stdio(false);
        std::cout << "before fork;";
        brood::fork([] { std::cout << "in child;"; }).wait();
        std::cout << "after wait;" << std::flush;
    });
    EXPECT_EQ(text, "before fork;in child;after wait;");
}

// A FILE of the caller's own is not flushed at the fork; the child leaves through _exit, which
// drops the child's copy of the buffer, so what it held is written once, by the parent.
TEST(fork, output_pending_in_a_file_of_ones_own_is_written_once) {
    char path[] = "/tmp/brood-test-fork-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_NE(fd, -1);
    std::FILE* file = ::fdopen(fd, "w");
    ASSERT_NE(file, nullptr);
    std::fputs("pending;", file);
    EXPECT_EQ(brood::fork([] {}).wait().code(), 0);
    std::fclose(file);
    std::FILE* back = std::fopen(path, "r");
    ASSERT_NE(back, nullptr);
    char text[64] = {};
    const std::size_t n = std::fread(text, 1, sizeof text - 1, back);
    std::fclose(back);
    ::unlink(path);
    EXPECT_EQ(std::string(text, n), "pending;");
}

// Another thread inside the child registry at the moment of a fork must not leave the child's
// registry locked: the child forks again, which registers its own child.
TEST(fork, a_child_can_fork_while_the_parent_has_another_thread_in_the_registry) {
    child sleeping = brood::fork([] { ::pause(); });
    std::atomic<bool> stop{false};
    std::thread busy([&] {
        while (!stop.load()) (void)sleeping.try_wait();  // takes the registry's lock each time
    });
    int nested_ok = 0;
    for (int i = 0; i < 100; ++i) {
        child c = brood::fork([] { return brood::fork([] { return 3; }).wait().code().value_or(-1); });
        if (auto status = c.wait_for(std::chrono::seconds(10)); status && status->code() == 3) ++nested_ok;
    }
    stop = true;
    busy.join();
    EXPECT_EQ(nested_ok, 100);
    sleeping.kill();
    sleeping.wait();
}

TEST(fork, atexit_handlers_do_not_run_in_the_child) {
    const std::string text = stdout_of([] {
        std::atexit([] { std::printf("atexit;"); });
        brood::fork([] { return 0; }).wait();
        brood::fork_call([] { return 1; }).get();
        std::exit(0);  // the outer child runs its atexit handler exactly once
    });
    EXPECT_EQ(text, "atexit;");
}

// Forks a child that runs throw_it with its stderr on a pipe; checks that it exits with
// uncaught_exception_exit_code and printed the report for what.
template <class F>
void expect_uncaught_exception_report(F throw_it, const std::string& what) {
    int err[2];
    ASSERT_EQ(::pipe(err), 0);
    child c = brood::fork([&] {
        ::dup2(err[1], STDERR_FILENO);
        throw_it();
    });
    ::close(err[1]);
    char buffer[256] = {};
    const ssize_t n = ::read(err[0], buffer, sizeof buffer - 1);
    ::close(err[0]);
    EXPECT_EQ(c.wait().code(), uncaught_exception_exit_code);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buffer), "brood: uncaught exception in forked child " + std::to_string(c.pid()) + ": " + what + "\n");
}

TEST(fork, an_escaping_exception_is_a_distinct_code_with_its_message) {
    expect_uncaught_exception_report([] { throw std::runtime_error("boom"); }, "boom");
}

TEST(fork, an_exception_in_a_child_out_of_memory_is_still_reported) {
    expect_uncaught_exception_report(
        [] {
            const std::runtime_error error("out of everything");  // made while memory lasts
            fail_allocations = true;
            throw error;
        },
        "out of everything");
}

// Unlike the pool's workers, a forked callable keeps the caller's signal state, as fork() does.
TEST(fork, the_child_keeps_the_callers_signal_mask_and_handlers) {
    sigset_t usr2, old_mask;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &usr2, &old_mask);
    struct sigaction handler {}, old_usr1 {};
    handler.sa_handler = [](int) {};
    ::sigaction(SIGUSR1, &handler, &old_usr1);
    child c = brood::fork([] {
        sigset_t mask;
        ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
        struct sigaction usr1 {};
        ::sigaction(SIGUSR1, nullptr, &usr1);
        return (sigismember(&mask, SIGUSR2) ? 0 : 1) + (usr1.sa_handler != SIG_DFL ? 0 : 2);
    });
    ::sigaction(SIGUSR1, &old_usr1, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    EXPECT_EQ(c.wait().code(), 0) << "1: SIGUSR2 not blocked in the child; 2: SIGUSR1's handler gone; 3: both";
}

TEST(fork_here, returns_a_handle_in_the_parent_and_nothing_in_the_child) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    const pid_t parent = ::getpid();
    std::optional<child> kid = fork_here();
    if (!kid) {
        const pid_t ids[2] = {::getpid(), ::getppid()};
        [[maybe_unused]] auto n = ::write(report[1], ids, sizeof ids);
        exit_child(0);
    }
    ::close(report[1]);
    pid_t ids[2] = {};
    ASSERT_EQ(::read(report[0], ids, sizeof ids), static_cast<ssize_t>(sizeof ids));
    ::close(report[0]);
    EXPECT_EQ(ids[0], kid->pid());
    EXPECT_EQ(ids[1], parent);
    EXPECT_EQ(kid->wait().code(), 0);
}

TEST(fork_call, brings_back_values) {
    EXPECT_EQ(fork_call([] { return 41 + 1; }).get(), 42);
    EXPECT_EQ(fork_call([] { return static_cast<pid_t>(::getpid()); }).get() == ::getpid(), false);
    const point p = fork_call([] { return point{3, 2.5}; }).get();
    EXPECT_EQ(p.x, 3);
    EXPECT_EQ(p.y, 2.5);
    EXPECT_EQ(fork_call([] { return std::string("hello from the child"); }).get(), "hello from the child");
    fork_call([] {}).get();
}

TEST(fork_call, a_large_result_does_not_deadlock) {
    const std::string big = fork_call([] { return std::string(8 << 20, 'x'); }).get();
    EXPECT_EQ(big.size(), 8u << 20);
}

// get() must throw child_failed with the message of what the child threw.
template <class T>
void expect_child_threw(forked_result<T>& result, const std::string& message) {
    try {
        result.get();
        FAIL() << "no exception";
    } catch (const child_failed& e) {
        EXPECT_EQ(e.what(), "forked child threw: " + message);
        EXPECT_EQ(e.status().code(), uncaught_exception_exit_code);
    }
}

TEST(fork_call, a_thrown_exception_comes_back_as_child_failed) {
    auto result = fork_call([]() -> int { throw std::runtime_error("no result"); });
    expect_child_threw(result, "no result");
}

// fork_call(fn), except that a child that comes back out of fork_call into this frame, by a return
// or an exception, exits 99 here.
template <class F>
auto fork_call_that_must_not_return_in_the_child(F fn) {
    const pid_t parent = ::getpid();
    try {
        auto result = fork_call(fn);
        if (::getpid() != parent) ::_exit(99);
        return result;
    } catch (...) {
        if (::getpid() != parent) ::_exit(99);
        throw;
    }
}

// The child's reply allocates nothing: where memory has run out it is still sent, and the child
// never comes back out of fork_call into the caller's frames.
TEST(fork_call, a_child_out_of_memory_reports_and_never_returns_into_the_caller) {
    auto threw = fork_call_that_must_not_return_in_the_child([]() -> int {
        const std::runtime_error error("out of everything");  // made while memory lasts
        fail_allocations = true;
        throw error;
    });
    expect_child_threw(threw, "out of everything");

    auto value = fork_call_that_must_not_return_in_the_child([] {
        std::string text(100, 'x');  // full: adding a byte in front would have to reallocate
        fail_allocations = true;
        return text;
    });
    EXPECT_EQ(value.get(), std::string(100, 'x'));
}

TEST(fork_call, a_killed_child_is_reported) {
    auto result = fork_call([] {
        ::raise(SIGKILL);
        return 1;
    });
    try {
        result.get();
        FAIL() << "no exception";
    } catch (const child_failed& e) {
        EXPECT_EQ(e.status().signal(), SIGKILL);
        EXPECT_STREQ(e.what(), "forked child killed by SIGKILL before sending its result");
    }
}
