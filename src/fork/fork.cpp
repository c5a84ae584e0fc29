#include <brood/fork.hpp>

#include <cstdio>
#include <istream>
#include <ostream>

#include <stdio_ext.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "child/birth_lock.hpp"

// The standard streams, declared without <iostream>: its static std::ios_base::Init would set them
// and the C++ locale up before main in every program that links fork_here (44,000 instructions),
// though few use them. flush_pending_standard_streams sets them up on its first call instead.
#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
namespace std {
extern ostream cout;
extern ostream cerr;
extern ostream clog;
}  // namespace std
#else
#include <iostream>
#endif

namespace brood {
namespace {

// Whether a stream buffer holds output not yet handed on. Reads only: pptr and pbase are
// protected, reached through a pointer to member named in a derived class.
struct pending_output : std::streambuf {
    static bool in(const std::streambuf* buffer) noexcept {
        return buffer != nullptr && (buffer->*&pending_output::pptr)() != (buffer->*&pending_output::pbase)();
    }
};

// Whether a FILE holds output not yet written. glibc's FILE is public: reading its buffer pointers
// runs no libc code, whose pages a forked child would first have to fault in.
bool holds_output(std::FILE* file) noexcept {
#if defined(__GLIBC__)
    return file->_IO_write_ptr > file->_IO_write_base;
#else
    return ::__fpending(file) > 0;
#endif
}

// What is flushed before a fork, and by a forked child on its way out: only the standard streams
// holding output; buffered output would otherwise be written by both processes. After a fork each
// page either process writes for the first time is a copy-on-write fault (tens of µs on some
// hypervisors), and fflush writes the lock of every stream it visits, even an empty one: checked
// by reading, an idle stream costs nothing. C++ streams synchronized with stdio (the default) keep
// no buffer of their own.
void flush_pending_standard_streams() noexcept {
    try {
        static const std::ios_base::Init streams;  // the first call sets the streams up (above)
        for (std::ostream* stream : {&std::cout, &std::cerr, &std::clog})
            if (pending_output::in(stream->rdbuf())) stream->flush();
    } catch (...) {
    }
    for (std::FILE* file : {stdout, stderr})
        if (holds_output(file)) std::fflush(file);
}

}  // namespace

std::optional<child> fork_here() {
    flush_pending_standard_streams();
    // Until the handle is registered, no reap by selector may take the child (birth_lock.hpp).
    detail::birth_scope birth;
    const pid_t pid = ::fork();
    if (pid == -1) throw_errno(errno, "fork");
    if (pid == 0) {
        birth.forget_in_child();
        return std::nullopt;
    }
    try {
        return child::adopt(pid);
    } catch (...) {
        // Without a handle nobody would reap it. No reap by selector can have taken it (the birth
        // is still held), so the pid is still ours.
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
        }
        throw;
    }
}

void exit_child(int code) noexcept {
    flush_pending_standard_streams();
    ::_exit(code);
}

namespace detail {

// Allocates nothing: the exception may be bad_alloc. what() stays valid while error holds it.
void exit_after_exception(std::exception_ptr error) noexcept {
    const char* what = "unknown exception";
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    flush_pending_standard_streams();
    std::fprintf(stderr, "brood: uncaught exception in forked child %d: %s\n", static_cast<int>(::getpid()), what);
    exit_child(uncaught_exception_exit_code);
}

void write_all(int fd, const void* data, std::size_t size) noexcept {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, bytes, size);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) return;  // the reader is gone: nothing left to tell
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string read_all(int fd) {
    std::string data;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n == -1 && errno == EINTR) continue;
        if (n == -1) throw_errno(errno, "read result of forked child");
        if (n == 0) return data;
        data.append(buffer, static_cast<std::size_t>(n));
    }
}

unique_fd result_pipe(unique_fd* write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == -1) throw_errno(errno, "pipe for fork_call result");
    write_end->reset(fds[1]);
    return unique_fd(fds[0]);
}

}  // namespace detail
}  // namespace brood
