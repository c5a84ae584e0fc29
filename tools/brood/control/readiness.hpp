// brood status --check: whether a running brood up has every program where it should be, read from
// the status reply (docs/protocol.md). For a container's readiness or liveness probe, a Docker
// HEALTHCHECK, or a script that waits for the supervisor to be up.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace brood::control {

// Empty when every instance is ready; a stopped one (by request, or autostart = false) is not
// expected to run, and one that exited with code 0 has finished its work. Otherwise one line
// saying which instances are not, and why: "not ready: web.1 backoff (exited with code 3), db.0 starting".
std::optional<std::string> not_ready(const nlohmann::json& status);

}  // namespace brood::control
