// Where brood up listens unless told otherwise, and where the control verbs look for it.
#pragma once

#include <filesystem>

namespace brood::control {

// .brood/brood.sock in the configuration file's directory.
inline std::filesystem::path default_socket(const std::filesystem::path& config) {
    return std::filesystem::absolute(config).parent_path() / ".brood" / "brood.sock";
}

}  // namespace brood::control
