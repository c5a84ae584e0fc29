// memory_max, memory_high, pids_max, cpu_weight and cpu_max: limits brood writes into an instance's
// own cgroup (memory.max, memory.high, pids.max, cpu.weight, cpu.max) before it starts the program.
//
// Each needs its controller (memory, pids, cpu) enabled down to the instance's cgroup. Whether it
// can be is known when the configuration loads, and a limit that could not be applied is refused
// then, naming the controller and the path: a limit is never ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brood::supervisor {

// One limit as written into a cgroup file: file "memory.max", value "268435456" or "max".
struct cgroup_limit {
    std::string file;
    std::string value;
    friend bool operator==(const cgroup_limit&, const cgroup_limit&) = default;
};

// The controller a cgroup file belongs to: "memory" for "memory.max".
std::string_view controller_of(std::string_view file);

// "150%" as cpu.max writes it ("150000 100000": 1.5 CPUs in each 100 ms), "max" as "max"; nullopt
// for anything else.
std::optional<std::string> cpu_max_value(std::string_view text);

// Why controller cannot be had in the instances' cgroups below brood's cgroup base (nullopt: it
// can, possibly once brood enables it in base's cgroup.subtree_control): no cgroup v2, a base brood
// cannot write, a controller not offered there (cgroup.controllers), or one not enabled in a base
// that holds processes (cgroup v2 lets no cgroup with processes enable it for its children).
std::optional<std::string> why_no_controller(std::string_view controller, const std::optional<std::filesystem::path>& base);

// Enables controller in dir's cgroup.subtree_control unless it is already. Throws std::system_error.
void enable_controller(const std::filesystem::path& dir, std::string_view controller);

// Writes each limit into the cgroup at dir. Throws std::system_error naming the file and value.
void write_cgroup_limits(const std::filesystem::path& dir, const std::vector<cgroup_limit>& limits);

}  // namespace brood::supervisor
