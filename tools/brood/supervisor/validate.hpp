// How programs depend on each other: checked when the config is loaded, then the order to start
// them in (stop in the reverse order).
#pragma once

#include <cstddef>
#include <vector>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// A depends_on naming no program, and every dependency cycle, named in full
// ("dependency cycle: web -> api -> web"), reported once at the entry that closes it.
std::vector<problem> check_dependencies(const std::vector<program_config>& programs);

// Indices into programs: each after the programs it depends on, otherwise in file order.
// Meant for a config check_dependencies accepted; with a cycle, the cycle is broken somewhere.
std::vector<std::size_t> start_order(const std::vector<program_config>& programs);

}  // namespace brood::supervisor
