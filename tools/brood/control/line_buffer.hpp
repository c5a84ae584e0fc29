// Bytes read from a stream socket, handed out one '\n'-terminated line at a time. Both ends of the
// control socket read through one, so a line is bounded the same way on each side.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace brood::control {

class line_buffer {
public:
    explicit line_buffer(std::size_t max_line) : max_line_(max_line) {}

    void append(std::string_view bytes) { pending_.append(bytes); }
    // The next whole line, without its '\n'; nullopt until one has arrived.
    std::optional<std::string> next_line();
    // A line longer than max_line is coming (its first max_line bytes have no '\n').
    bool overflowed() const;
    // Bytes held that are not yet a whole line.
    bool empty() const { return pending_.size() == start_; }
    // Everything held that was not handed out as a line, which the buffer then forgets: what came
    // after the request that made the connection carry something else than lines (attach).
    std::string take_rest();

private:
    std::size_t max_line_;
    std::string pending_;
    std::size_t start_ = 0;  // lines before it were handed out; compacted lazily
};

}  // namespace brood::control
