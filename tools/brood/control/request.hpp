// A control request, as one JSON line on the socket (docs/protocol.md):
//   {"id":1,"verb":"stop","targets":["web"]}
//   {"id":2,"verb":"signal","targets":["web.0"],"signal":1}
//   {"id":3,"verb":"resize","targets":["web.0"],"rows":40,"cols":120}
//   {"id":4,"verb":"attach","targets":["web.0"]}     then the connection carries the terminal's bytes
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace brood::control {

struct request {
    std::uint64_t id = 0;
    std::string verb;                  // status start stop restart pause resume signal logs events reload shutdown
                                       // environment scale attach resize
    std::vector<std::string> targets;  // program names, "name.N" instances, or "all"
    int signal = 0;                    // verb "signal"
    std::uint16_t rows = 0;            // verb "resize": the terminal's size, each 1 to 65535
    std::uint16_t cols = 0;
};

// Thrown by a handler to refuse a request: the reply is ok=false with error = what().
struct request_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Whether verb is one of the protocol's verbs, and whether it acts on targets (then it needs some).
bool known_verb(std::string_view verb);
bool verb_takes_targets(std::string_view verb);

struct parsed_request {
    request value;      // value.id is the line's id whenever it had a valid one, even on error
    std::string error;  // empty when value is a valid request
};

// Checks one line (without its '\n') against the protocol: a JSON object with a known verb, the
// targets it needs, a signal for "signal", and no other field. Never throws on bad input.
parsed_request parse_request(std::string_view line);

// The line a client sends for r, '\n' included.
std::string request_line(const request& r);

}  // namespace brood::control
