#include "verbs/control_socket.hpp"

#include <fmt/core.h>

#include "control/default_socket.hpp"
#include "supervisor/config.hpp"

namespace brood::cli {

std::filesystem::path control_socket(const std::string& config, const std::string& socket) {
    if (!socket.empty()) return socket;
    if (!config.empty()) return control::default_socket(config);
    if (auto found = supervisor::find_config(std::filesystem::current_path())) return control::default_socket(*found);
    fmt::print(stderr, "brood: no brood.toml or Procfile in {} (name one with -c FILE, or the socket with --socket PATH)\n",
               std::filesystem::current_path().string());
    return {};
}

}  // namespace brood::cli
