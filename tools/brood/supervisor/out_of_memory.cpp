#include "supervisor/out_of_memory.hpp"

#include <charconv>

#include <fcntl.h>

#include <brood/unique_fd.hpp>

#include "common/human_units.hpp"
#include "supervisor/small_file.hpp"

namespace brood::supervisor {

std::optional<std::uint64_t> oom_kills_in(std::string_view memory_events) {
    constexpr std::string_view key = "oom_kill ";
    while (!memory_events.empty()) {
        const std::size_t end = memory_events.find('\n');
        const std::string_view line = memory_events.substr(0, end);
        if (line.starts_with(key)) {
            const std::string_view number = line.substr(key.size());
            std::uint64_t count = 0;
            const auto [at, error] = std::from_chars(number.data(), number.data() + number.size(), count);
            if (error != std::errc() || at != number.data() + number.size()) return std::nullopt;
            return count;
        }
        if (end == std::string_view::npos) break;
        memory_events.remove_prefix(end + 1);
    }
    return std::nullopt;
}

std::optional<std::uint64_t> oom_kills(int cgroup_dir_fd) {
    const unique_fd file(::openat(cgroup_dir_fd, "memory.events", O_RDONLY | O_CLOEXEC));
    char text[small_file_size];
    return oom_kills_in(read_small_file(file, text));  // no file: empty, none
}

std::string out_of_memory_cause(std::optional<std::uint64_t> before, std::optional<std::uint64_t> after,
                                const program_config& program) {
    if (!before || !after || *after <= *before) return {};
    for (const cgroup_limit& limit : program.cgroup_limits) {
        if (limit.file != "memory.max" || limit.value == "max") continue;
        std::uint64_t bytes = 0;
        const auto [at, error] = std::from_chars(limit.value.data(), limit.value.data() + limit.value.size(), bytes);
        if (error == std::errc() && at == limit.value.data() + limit.value.size())
            return "out of memory: memory_max " + cli::human_bytes(bytes);
    }
    return "out of memory";
}

}  // namespace brood::supervisor
