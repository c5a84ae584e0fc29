#include "supervisor/cgroup_usage.hpp"

#include <cerrno>
#include <charconv>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include <brood/unique_fd.hpp>

namespace brood::supervisor {
namespace {

// The file's first 4 KiB, or empty when it cannot be read: both files are a few lines.
std::string_view read_small(int directory, const char* name, char (&buffer)[4096]) {
    const unique_fd fd(::openat(directory, name, O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    ssize_t n;
    do n = ::read(fd.get(), buffer, sizeof buffer);
    while (n < 0 && errno == EINTR);
    return n > 0 ? std::string_view(buffer, static_cast<std::size_t>(n)) : std::string_view();
}

std::optional<std::uint64_t> number_at(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data()) return std::nullopt;
    return value;
}

}  // namespace

cgroup_usage read_cgroup_usage(const cgroup& group) {
    cgroup_usage usage;
    char buffer[4096];
    usage.memory_bytes = number_at(read_small(group.fd(), "memory.current", buffer));
    const std::string_view stat = read_small(group.fd(), "cpu.stat", buffer);
    constexpr std::string_view key = "usage_usec ";
    if (stat.substr(0, key.size()) == key)
        if (const auto usec = number_at(stat.substr(key.size()))) usage.cpu_time = std::chrono::microseconds(*usec);
    return usage;
}

}  // namespace brood::supervisor
