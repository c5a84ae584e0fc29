#include "common/value_checks.hpp"

#include <brood/signal.hpp>

#include "common/duration.hpp"

namespace brood::cli {

std::string check_duration(const std::string& text) {
    return parse_duration(text) ? std::string() : "not a duration (try 5s, 500ms, 1.5s, 2m): " + text;
}

std::string check_signal(const std::string& text) {
    return parse_signal(text) ? std::string() : "not a signal (try TERM, SIGKILL, 9): " + text;
}

}  // namespace brood::cli
