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

namespace {

std::string stat_path(pid_t pid) { return "/proc/" + std::to_string(pid) + "/stat"; }

}  // namespace

std::optional<stat_file> stat_file::open(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    unique_fd file(::open(stat_path(pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
        if (detail::is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "open " + stat_path(pid));
    }
    return stat_file(pid, std::move(file));
}

// The line is far shorter than the buffer (comm is at most 15 bytes, the rest are numbers). The
// kernel writes the file anew for each read from offset 0.
std::optional<process_info> stat_file::read() const {
    char buffer[2048];
    ssize_t n;
    do n = ::pread(file_.get(), buffer, sizeof buffer, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (detail::is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "read " + stat_path(pid_));
    }
    std::optional<process_info> info = detail::parse_stat(std::string_view(buffer, static_cast<std::size_t>(n)));
    if (!info) throw std::runtime_error("malformed " + stat_path(pid_));
    return info;
}

// One open, one read, one close.
std::optional<process_info> read_stat(pid_t pid) {
    const std::optional<stat_file> file = stat_file::open(pid);
    return file ? file->read() : std::nullopt;
}

}  // namespace brood::proc
