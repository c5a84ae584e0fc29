// fork a callable, or fork right here as the tutorials do.
//
//   brood::child c = brood::fork([] { return compute(); });   // child exits with compute()'s int
//   auto r = brood::fork_call([] { return std::string("hi"); }); r.get() == "hi"
//   if (auto kid = brood::fork_here()) { /* parent: kid->pid() */ } else { /* child */ }
//
// Before forking, stdout, stderr and the C++ standard streams are flushed when they hold output,
// so buffered output is not printed twice. Flush a FILE you opened yourself before fork_here if the
// child may write to it or leave through exit(); a forked callable's child never flushes it.
// A forked callable ends the child with exit_child: the parent's atexit handlers and static
// destructors never run a second time. An exception escaping the callable prints
// "brood: uncaught exception in forked child <pid>: <what>" to stderr and exits with
// uncaught_exception_exit_code (70, EX_SOFTWARE from sysexits.h). Reporting it allocates nothing, nor
// does sending fork_call's result: a child out of memory still reports, and a forked callable's
// child never returns into the caller's code, whatever fails.
//
// The child keeps the forking thread's signal mask and the process's handlers and ignored signals,
// as fork() does: a caller that blocks SIGTERM gets a child that blocks it too. Reset them in the
// callable if the child should not have them (brood's pool workers start clean instead).
//
// In a multi-threaded parent only async-signal-safe work is portable in the child (POSIX); glibc
// makes malloc usable after fork. Prefer brood::command to run programs: it never copies page tables.
#pragma once

#include <concepts>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <brood/child.hpp>
#include <brood/unique_fd.hpp>

namespace brood {

inline constexpr int uncaught_exception_exit_code = 70;

// Flushes the standard streams, forks and returns the child's handle in the parent, nullopt in the
// child. The child starts owning no children: its parent's handles are not its to wait on.
std::optional<child> fork_here();

// Flushes stdout, stderr and the C++ standard streams (those holding output) and ends this (child)
// process with _exit(code): no atexit handlers, no destructors, no flush of other FILEs (close them).
[[noreturn]] void exit_child(int code) noexcept;

namespace detail {
[[noreturn]] void exit_after_exception(std::exception_ptr error) noexcept;
void write_all(int fd, const void* data, std::size_t size) noexcept;
std::string read_all(int fd);

template <class F>
[[noreturn]] void run_and_exit(F& fn) noexcept {
    int code = 0;
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
            fn();
        } else {
            code = static_cast<int>(fn());
        }
    } catch (...) {
        exit_after_exception(std::current_exception());
    }
    exit_child(code);
}
}  // namespace detail

// Runs fn in a forked child. fn returns void (exit 0) or something convertible to int (exit code).
template <class F>
    requires std::invocable<F&>
child fork(F&& fn) {
    std::optional<child> kid = fork_here();
    if (!kid) detail::run_and_exit(fn);
    return std::move(*kid);
}

// The child ended without sending a result: killed, exited non-zero, or threw.
class child_failed : public std::runtime_error {
public:
    child_failed(const std::string& what, wait_status status) : std::runtime_error(what), status_(status) {}
    const wait_status& status() const noexcept { return status_; }

private:
    wait_status status_;
};

// Types fork_call can send back: trivially copyable values and std::string.
template <class T>
concept sendable_result = std::is_void_v<T> || std::same_as<T, std::string> ||
                          (std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>);

// The pending result of fork_call. get() reads the result, reaps the child and returns the value,
// or throws child_failed (with the child's exception message when it threw).
template <class T>
class forked_result {
public:
    forked_result(child process, unique_fd result) : child_(std::move(process)), result_(std::move(result)) {}

    T get() {
        std::string bytes = detail::read_all(result_.get());  // read before waiting: no pipe deadlock
        result_.reset();
        wait_status status = child_.wait();
        if (!bytes.empty() && bytes[0] == 'e')
            throw child_failed("forked child threw: " + bytes.substr(1), status);
        if (bytes.empty() || bytes[0] != 'v' || !status.success())
            throw child_failed("forked child " + status.to_string() + " before sending its result", status);
        if constexpr (std::is_void_v<T>) {
            return;
        } else if constexpr (std::same_as<T, std::string>) {
            return bytes.substr(1);
        } else {
            if (bytes.size() != 1 + sizeof(T)) throw child_failed("forked child sent a truncated result", status);
            T value;
            std::memcpy(&value, bytes.data() + 1, sizeof(T));
            return value;
        }
    }
    child& process() noexcept { return child_; }

private:
    child child_;
    unique_fd result_;
};

namespace detail {
// A pipe whose read end is returned; the write end is stored in *write_end.
unique_fd result_pipe(unique_fd* write_end);

// fork_call's child: runs fn and writes 'v' and the value, or 'e' and what it threw, to fd, then
// exits. Sending allocates nothing, so running out of memory cannot make it fail; and being
// noexcept, it can never return into the caller's frames.
template <class T, class F>
[[noreturn]] void send_result_and_exit(F& fn, int fd) noexcept {
    try {
        if constexpr (std::is_void_v<T>) {
            fn();
            write_all(fd, "v", 1);
        } else if constexpr (std::same_as<T, std::string>) {
            const std::string value = fn();
            write_all(fd, "v", 1);
            write_all(fd, value.data(), value.size());
        } else {
            const T value = fn();
            char buffer[1 + sizeof(T)];
            buffer[0] = 'v';
            std::memcpy(buffer + 1, &value, sizeof(T));
            write_all(fd, buffer, sizeof buffer);
        }
    } catch (const std::exception& e) {
        write_all(fd, "e", 1);
        write_all(fd, e.what(), std::strlen(e.what()));
        exit_child(uncaught_exception_exit_code);
    } catch (...) {
        write_all(fd, "eunknown exception", 18);
        exit_child(uncaught_exception_exit_code);
    }
    exit_child(0);
}
}  // namespace detail

// Runs fn in a forked child and brings its return value back over a pipe.
template <class F>
    requires std::invocable<F&> && sendable_result<std::invoke_result_t<F&>>
auto fork_call(F&& fn) -> forked_result<std::invoke_result_t<F&>> {
    using T = std::invoke_result_t<F&>;
    unique_fd write_end;
    unique_fd read_end = detail::result_pipe(&write_end);
    std::optional<child> kid = fork_here();
    if (!kid) {
        read_end.reset();
        detail::send_result_and_exit<T>(fn, write_end.get());
    }
    write_end.reset();
    return forked_result<T>(std::move(*kid), std::move(read_end));
}

}  // namespace brood
