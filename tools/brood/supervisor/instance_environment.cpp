#include "supervisor/instance_environment.hpp"

#include <string_view>

#include <unistd.h>

namespace brood::supervisor {

std::map<std::string, std::string> instance_environment(const program_config& program, unsigned index) {
    std::map<std::string, std::string> environment = program.environment;
    environment["BROOD_INSTANCE"] = std::to_string(index);
    if (program.port) environment["PORT"] = std::to_string(*program.port + index);
    return environment;
}

std::map<std::string, std::string> current_environment() {
    std::map<std::string, std::string> variables;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const std::size_t equals = text.find('=');
        if (equals != std::string_view::npos) variables.emplace(text.substr(0, equals), text.substr(equals + 1));
    }
    return variables;
}

}  // namespace brood::supervisor
