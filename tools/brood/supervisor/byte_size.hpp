// Sizes as people write them in a config file: 1048576, "512K", "10M", "1G" (also "10MB", "10MiB").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace brood::supervisor {

// Whole number of bytes, optionally followed by K, M or G (any case, optionally followed by B or
// iB), each 1024 times the one before, as journald and logrotate count; "B" alone is bytes.
// nullopt for anything else or a size beyond 2^63.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

}  // namespace brood::supervisor
