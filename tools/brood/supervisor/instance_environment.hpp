// What each instance of a program is told about itself through its environment.
#pragma once

#include <map>
#include <string>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// The environment of instance `index` (from 0) on top of brood's own: the program's environment,
// BROOD_INSTANCE=index and, when the program has a port, PORT=port+index. BROOD_INSTANCE and PORT
// win over the same names in the program's environment.
std::map<std::string, std::string> instance_environment(const program_config& program, unsigned index);

// This process's environment (environ), which the programs inherit.
std::map<std::string, std::string> current_environment();

}  // namespace brood::supervisor
