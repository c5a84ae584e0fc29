// The label in front of each line a program prints when brood up shows output live, foreman-style:
//
//   web.0    | listening on 8080
//   worker.1 | job 17 done
//   web.0    + the rest of a line too long to be shown on one
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace brood::supervisor {

struct live_prefix {
    std::string text;       // "web.1 | ", already padded and coloured
    std::string continued;  // "web.1 + ": before the pieces of a long line after its first
};

// "NAME.INDEX", padded with spaces to width (the widest "NAME.INDEX" of all instances), then " " bar " ".
// With colour, the label and bar are coloured with ANSI colour colour_index of a fixed palette
// (taken modulo its size, so consecutive programs get different colours).
std::string make_prefix(std::string_view name, unsigned index, std::size_t width, int colour_index, bool colour,
                        char bar = '|');

}  // namespace brood::supervisor
