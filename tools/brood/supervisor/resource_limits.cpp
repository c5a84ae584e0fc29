#include "supervisor/resource_limits.hpp"

#include <array>
#include <fstream>

#include <unistd.h>

namespace brood::supervisor {
namespace {

constexpr std::array<limit_key, 7> keys{{
    {"nofile", RLIMIT_NOFILE, false},
    {"nproc", RLIMIT_NPROC, false},
    {"core", RLIMIT_CORE, true},
    {"memlock", RLIMIT_MEMLOCK, true},
    {"stack", RLIMIT_STACK, true},
    {"as", RLIMIT_AS, true},
    {"cpu", RLIMIT_CPU, false},
}};

// The most open files the kernel lets anyone have (fs.nr_open); 0 when it cannot be read.
rlim_t nr_open() {
    rlim_t value = 0;
    std::ifstream("/proc/sys/fs/nr_open") >> value;
    return value;
}

}  // namespace

const limit_key* find_limit_key(std::string_view name) {
    for (const limit_key& key : keys)
        if (key.name == name) return &key;
    return nullptr;
}

std::string limit_key_names() {
    std::string text;
    for (const limit_key& key : keys) text += (text.empty() ? "" : ", ") + std::string(key.name);
    return text;
}

std::string limit_text(rlim_t value) { return value == RLIM_INFINITY ? "infinity" : std::to_string(value); }

std::optional<std::string> why_not_limit(const resource_limit& limit) {
    if (limit.soft > limit.hard)
        return "soft " + limit_text(limit.soft) + " is above hard " + limit_text(limit.hard);
    rlimit own{};
    ::getrlimit(limit.resource, &own);
    if (::geteuid() == 0) {
        // Root may raise a hard limit, but not the open files past fs.nr_open.
        const rlim_t most = limit.resource == RLIMIT_NOFILE ? nr_open() : 0;
        if (most != 0 && limit.hard > most)
            return "hard " + limit_text(limit.hard) + " is above the kernel's fs.nr_open, " + std::to_string(most);
        return std::nullopt;
    }
    if (limit.hard > own.rlim_max)
        return "hard " + limit_text(limit.hard) + " is above brood's own hard limit, " + limit_text(own.rlim_max) +
               ", which only root may raise";
    return std::nullopt;
}

}  // namespace brood::supervisor
