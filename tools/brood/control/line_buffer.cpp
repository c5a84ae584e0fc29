#include "control/line_buffer.hpp"

namespace brood::control {

std::optional<std::string> line_buffer::next_line() {
    const std::size_t end = pending_.find('\n', start_);
    if (end == std::string::npos) {
        // Drop what was handed out so the buffer holds at most one partial line.
        pending_.erase(0, start_);
        start_ = 0;
        return std::nullopt;
    }
    std::string line = pending_.substr(start_, end - start_);
    start_ = end + 1;
    return line;
}

std::string line_buffer::take_rest() {
    std::string rest = pending_.substr(start_);
    pending_.clear();
    start_ = 0;
    return rest;
}

bool line_buffer::overflowed() const {
    const std::size_t end = pending_.find('\n', start_);
    return (end == std::string::npos ? pending_.size() : end) - start_ > max_line_;
}

}  // namespace brood::control
