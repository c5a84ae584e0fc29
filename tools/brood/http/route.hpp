// Which of brood's HTTP resources a request names (docs/protocol.md, "HTTP"):
//   GET  /                                   the web page
//   GET  /metrics                            Prometheus text format
//   GET  /api/v1/status                      the status verb's result
//   GET  /api/v1/events                      the event stream, as Server-Sent Events
//   POST /api/v1/programs/NAME/VERB          start stop restart pause resume (bearer token)
#pragma once

#include <string>
#include <string_view>

namespace brood::http {

struct route {
    enum class kind { page, metrics, status, events, act, not_found, wrong_method };
    kind what = kind::not_found;
    std::string target;  // act: a program, "name.N" or "all", as the control verbs take it
    std::string verb;    // act
    std::string allow;   // wrong_method: the method the path takes
};

route route_of(std::string_view method, std::string_view path);

}  // namespace brood::http
