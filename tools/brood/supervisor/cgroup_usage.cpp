#include "supervisor/cgroup_usage.hpp"

#include <charconv>
#include <string_view>

#include <fcntl.h>

#include <brood/unique_fd.hpp>

#include "supervisor/small_file.hpp"

namespace brood::supervisor {
namespace {

std::optional<std::uint64_t> number_at(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data()) return std::nullopt;
    return value;
}

}  // namespace

cgroup_usage_files::cgroup_usage_files(const cgroup& group)
    : memory_current_(::openat(group.fd(), "memory.current", O_RDONLY | O_CLOEXEC)),
      cpu_stat_(::openat(group.fd(), "cpu.stat", O_RDONLY | O_CLOEXEC)) {}

cgroup_usage cgroup_usage_files::read() const {
    cgroup_usage usage;
    char buffer[small_file_size];
    usage.memory_bytes = number_at(read_small_file(memory_current_, buffer));
    const std::string_view stat = read_small_file(cpu_stat_, buffer);
    constexpr std::string_view key = "usage_usec ";
    if (stat.substr(0, key.size()) == key)
        if (const auto usec = number_at(stat.substr(key.size()))) usage.cpu_time = std::chrono::microseconds(*usec);
    return usage;
}

}  // namespace brood::supervisor
