#include <cerrno>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/proc.hpp>
#include <brood/unique_fd.hpp>

#include "proc/parse_stat.hpp"
#include "proc/proc_file.hpp"

namespace brood::proc {

// One open, one read, one close: what a supervisor sampling hundreds of processes pays per process.
// The line is far shorter than the buffer (comm is at most 15 bytes, the rest are numbers).
std::optional<process_info> read_stat(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const unique_fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
        if (detail::is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "open " + path);
    }
    char buffer[2048];
    ssize_t n;
    do n = ::read(file.get(), buffer, sizeof buffer);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (detail::is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "read " + path);
    }
    std::optional<process_info> info = detail::parse_stat(std::string_view(buffer, static_cast<std::size_t>(n)));
    if (!info) throw std::runtime_error("malformed " + path);
    return info;
}

}  // namespace brood::proc
