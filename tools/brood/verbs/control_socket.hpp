// Which control socket a client of brood up (the verbs, brood top) talks to.
#pragma once

#include <filesystem>
#include <string>

namespace brood::cli {

// What brood up would use: socket when given (--socket), else .brood/brood.sock beside config
// (-c FILE), else beside the current directory's brood.toml or Procfile. Empty after printing why
// to stderr when there is none.
std::filesystem::path control_socket(const std::string& config, const std::string& socket);

}  // namespace brood::cli
