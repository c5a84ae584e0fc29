// What a reload changes: the programs of the running configuration against those of the new one.
#pragma once

#include <string>
#include <vector>

#include "supervisor/config.hpp"

namespace brood::supervisor {

struct program_diff {
    std::vector<std::string> added;      // only in the new configuration: started
    std::vector<std::string> removed;    // only in the running one: stopped
    std::vector<std::string> changed;    // in both, configured differently: restarted
    std::vector<std::string> updated;    // in both, only the health check differs: applied, not restarted
    std::vector<std::string> unchanged;  // left alone
};

// By name, in each configuration's order. Where a program is written in its file does not count:
// moving a table, or editing the program above it, changes nothing that runs.
program_diff diff_programs(const std::vector<program_config>& running, const std::vector<program_config>& next);

}  // namespace brood::supervisor
