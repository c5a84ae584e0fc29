#include <cerrno>
#include <stdexcept>
#include <string>
#include <variant>

#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "proc/parse_stat.hpp"
#include "proc/proc_file.hpp"

namespace brood::proc {

namespace {

std::vector<std::string> split_cmdline(const std::string& text) {
    // Arguments end with NUL each; a process that rewrote its argv may leave out the last one.
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\0', start);
        if (end == std::string::npos) end = text.size();
        args.emplace_back(text, start, end - start);
        start = end + 1;
    }
    return args;
}

}  // namespace

std::optional<process_info> read_process(pid_t pid) {
    const unique_fd dir = detail::open_process_dir(pid);
    if (!dir) {
        if (detail::is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "open /proc/" + std::to_string(pid));
    }

    detail::read_result stat = detail::read_file_at(dir.get(), "stat");
    if (const int* error = std::get_if<int>(&stat)) {
        if (detail::is_vanished(*error)) return std::nullopt;
        throw_errno(*error, "read /proc/" + std::to_string(pid) + "/stat");
    }
    std::optional<process_info> info = detail::parse_stat(std::get<std::string>(stat));
    if (!info) throw std::runtime_error("malformed /proc/" + std::to_string(pid) + "/stat");

    detail::read_result cmdline = detail::read_file_at(dir.get(), "cmdline");
    if (const int* error = std::get_if<int>(&cmdline)) {
        if (detail::is_vanished(*error)) return std::nullopt;
        throw_errno(*error, "read /proc/" + std::to_string(pid) + "/cmdline");
    }
    info->cmdline = split_cmdline(std::get<std::string>(cmdline));
    return info;
}

}  // namespace brood::proc
