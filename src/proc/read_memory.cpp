#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>
#include <variant>

#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "proc/proc_file.hpp"

namespace brood::proc {

namespace {

// The field a line of smaps_rollup ("Private_Dirty:   1234 kB") sets, or nullptr.
std::uint64_t* field_for(memory_usage& usage, std::string_view key) {
    if (key == "Rss") return &usage.rss;
    if (key == "Pss") return &usage.pss;
    if (key == "Shared_Clean") return &usage.shared_clean;
    if (key == "Shared_Dirty") return &usage.shared_dirty;
    if (key == "Private_Clean") return &usage.private_clean;
    if (key == "Private_Dirty") return &usage.private_dirty;
    if (key == "Swap") return &usage.swap;
    return nullptr;
}

void parse_line(memory_usage& usage, std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;  // the header line with the address range
    std::uint64_t* field = field_for(usage, line.substr(0, colon));
    if (field == nullptr) return;
    std::string_view value = line.substr(colon + 1);
    value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
    std::uint64_t kib = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), kib);
    if (error == std::errc() && std::string_view(end, value.data() + value.size()) == " kB") *field = kib * 1024;
}

}  // namespace

std::optional<memory_usage> read_memory(pid_t pid) {
    const unique_fd dir = detail::open_process_dir(pid);
    if (!dir) {
        if (detail::is_vanished(errno)) return std::nullopt;
        throw_errno(errno, "open /proc/" + std::to_string(pid));
    }
    detail::read_result text = detail::read_file_at(dir.get(), "smaps_rollup");
    if (const int* error = std::get_if<int>(&text)) {
        // A zombie has no memory left to describe (ESRCH); another user's process needs ptrace rights.
        if (detail::is_vanished(*error) || *error == EACCES || *error == EPERM) return std::nullopt;
        throw_errno(*error, "read /proc/" + std::to_string(pid) + "/smaps_rollup");
    }
    memory_usage usage;
    std::string_view rest = std::get<std::string>(text);
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        parse_line(usage, rest.substr(0, end));
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    }
    return usage;
}

}  // namespace brood::proc
