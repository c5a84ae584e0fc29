// The bytes of an HTTP/1.1 answer. brood answers one request per connection and closes it, so each
// says "Connection: close" and, but for the event stream, its length.
#pragma once

#include <string>
#include <string_view>

namespace brood::http {

std::string response(int code, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = {});
// {"error":"..."} as application/json.
std::string error_response(int code, std::string_view error, std::string_view extra_headers = {});
// The head of /api/v1/events: no length, the events follow until either side closes.
std::string event_stream_head();
// One Server-Sent Event carrying json on a single data line (JSON text holds no newline).
std::string event_message(std::string_view json);

}  // namespace brood::http
