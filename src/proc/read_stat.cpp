#include <stdexcept>
#include <string>

#include <brood/proc.hpp>
#include <brood/unique_fd.hpp>

#include "proc/parse_stat.hpp"
#include "proc/proc_file.hpp"

namespace brood::proc {

std::optional<stat_file> stat_file::open(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    unique_fd file = detail::open_held(pid, "stat");
    if (!file) return std::nullopt;
    return stat_file(pid, std::move(file));
}

// The line is far shorter than the buffer (comm is at most 15 bytes, the rest are numbers).
std::optional<process_info> stat_file::read() const {
    char buffer[2048];
    const std::optional<std::string_view> text = detail::read_held(file_.get(), pid_, "stat", buffer);
    if (!text) return std::nullopt;
    std::optional<process_info> info = detail::parse_stat(*text);
    if (!info) throw std::runtime_error("malformed /proc/" + std::to_string(pid_) + "/stat");
    return info;
}

// One open, one read, one close.
std::optional<process_info> read_stat(pid_t pid) {
    const std::optional<stat_file> file = stat_file::open(pid);
    return file ? file->read() : std::nullopt;
}

}  // namespace brood::proc
