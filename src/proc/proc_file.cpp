#include "proc/proc_file.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::proc::detail {

bool is_vanished(int error) noexcept {
    // ENOENT: no such directory or the process was reaped; ESRCH: it exited while being read.
    return error == ENOENT || error == ESRCH;
}

namespace {

std::string path_of(pid_t pid, const char* name) { return "/proc/" + std::to_string(pid) + "/" + name; }

}  // namespace

unique_fd open_held(pid_t pid, const char* name) {
    unique_fd file(::open(path_of(pid, name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!file && !is_vanished(errno)) throw_errno(errno, "open " + path_of(pid, name));
    return file;
}

// The kernel writes the file anew for each read from offset 0.
std::optional<std::string_view> read_held(int fd, pid_t pid, const char* name, char (&buffer)[2048]) {
    ssize_t n;
    do n = ::pread(fd, buffer, sizeof buffer, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "read " + path_of(pid, name));
    }
    return std::string_view(buffer, static_cast<std::size_t>(n));
}

unique_fd open_process_dir(pid_t pid) {
    if (pid <= 0) {
        errno = ENOENT;
        return unique_fd();
    }
    const std::string path = "/proc/" + std::to_string(pid);
    return unique_fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

read_result read_file_at(int dir, const char* name) {
    unique_fd file(::openat(dir, name, O_RDONLY | O_CLOEXEC));
    if (!file) return errno;
    // /proc files report size 0: read until end of file.
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
        if (n == 0) return text;
        if (n > 0) {
            text.append(buffer, static_cast<std::size_t>(n));
        } else if (errno != EINTR) {
            return errno;
        }
    }
}

}  // namespace brood::proc::detail
