// The Prometheus text format (version 0.0.4) of brood up's state, rendered from the status verb's
// result (docs/protocol.md) so that both say the same thing:
//
//   brood_instance_state{program="web",instance="0",name="web.0",state="running"} 1
//   brood_instance_restarts_total{program="web",instance="0",name="web.0"} 2
//
// Each instance has one brood_instance_state series per state, 1 for the one it is in and 0 for the
// others, so that sum by (state) counts instances in each. A value that status gives as null (the
// uptime of a stopped instance) has no sample. The names are listed in docs/supervisor.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace brood::http {

// What the HTTP server counts itself, with brood's own memory.
struct server_counters {
    std::uint64_t memory_bytes = 0;          // brood's resident memory
    std::uint64_t events = 0;                // events published since the start
    std::map<int, std::uint64_t> requests;   // HTTP answers by status code
    std::uint64_t event_clients = 0;         // following /api/v1/events now
    std::uint64_t event_clients_dropped = 0; // dropped for not reading their events
    std::uint64_t connections_refused = 0;   // over max_connections
};

std::string prometheus_text(const nlohmann::json& status, const server_counters& counters);

}  // namespace brood::http
