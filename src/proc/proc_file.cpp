#include "proc/proc_file.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace brood::proc::detail {

bool is_vanished(int error) noexcept {
    // ENOENT: no such directory or the process was reaped; ESRCH: it exited while being read.
    return error == ENOENT || error == ESRCH;
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
