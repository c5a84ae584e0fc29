// The lines the supervisor sends back (docs/protocol.md): a reply to each request, in order,
//   {"id":1,"ok":true,"result":{...}}     {"id":1,"ok":false,"error":"unknown program 'wbe'"}
// and, once a connection asked for "events", one line per event: {"event":{...}}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace brood::control {

// Each with its '\n'. Strings that are not valid UTF-8 are sent with U+FFFD in their place.
std::string reply_line(std::uint64_t id, const nlohmann::json& result);
std::string error_line(std::uint64_t id, std::string_view error);
std::string event_line(const nlohmann::json& event);

// A line from the supervisor, as the client reads it.
struct reply {
    std::uint64_t id = 0;
    bool ok = false;
    nlohmann::json result;           // ok
    std::string error;               // !ok
    std::optional<nlohmann::json> event;  // an event line (then id/ok/result/error are unset)
};
// Throws std::runtime_error naming the problem when line is not a reply or an event.
reply parse_reply(std::string_view line);

}  // namespace brood::control
