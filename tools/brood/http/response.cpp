#include "http/response.hpp"

#include <fmt/format.h>
#include <http_parser.h>
#include <nlohmann/json.hpp>

namespace brood::http {

std::string response(int code, std::string_view content_type, std::string_view body, std::string_view extra_headers) {
    return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
                       "Connection: close\r\n{}\r\n{}",
                       code, http_status_str(static_cast<http_status>(code)), content_type, body.size(),
                       extra_headers, body);
}

std::string error_response(int code, std::string_view error, std::string_view extra_headers) {
    const nlohmann::json body{{"error", error}};
    return response(code, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                    extra_headers);
}

std::string event_stream_head() {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
           "Connection: close\r\n\r\n";
}

std::string event_message(std::string_view json) { return fmt::format("data: {}\n\n", json); }

}  // namespace brood::http
