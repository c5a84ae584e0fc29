#include "supervisor/instance_environment.hpp"

namespace brood::supervisor {

std::map<std::string, std::string> instance_environment(const program_config& program, unsigned index) {
    std::map<std::string, std::string> environment = program.environment;
    environment["BROOD_INSTANCE"] = std::to_string(index);
    if (program.port) environment["PORT"] = std::to_string(*program.port + index);
    return environment;
}

}  // namespace brood::supervisor
