// brood.toml's limits table: setrlimit limits for a program (nofile, nproc, core, memlock, stack,
// as, cpu), checked against what brood may give when the configuration loads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <sys/resource.h>

namespace brood::supervisor {

struct resource_limit {
    int resource;  // RLIMIT_*
    rlim_t soft;
    rlim_t hard;
    friend bool operator==(const resource_limit&, const resource_limit&) = default;
};

// The RLIMIT_ of a key of the limits table, and whether its values are sizes (bytes) or counts.
struct limit_key {
    std::string_view name;
    int resource;
    bool size;
};
const limit_key* find_limit_key(std::string_view name);
std::string limit_key_names();  // for "unknown key" messages: "nofile, nproc, ..."

// Why brood cannot give the program this limit, or nullopt when it can: a soft limit above the
// hard one; a hard limit above brood's own, unless brood is root (which may raise it, up to
// fs.nr_open for nofile).
std::optional<std::string> why_not_limit(const resource_limit& limit);

// "infinity" for RLIM_INFINITY, else the number.
std::string limit_text(rlim_t value);

}  // namespace brood::supervisor
