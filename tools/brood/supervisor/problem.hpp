// A problem found in a configuration file, and where: `brood up` prints one line per problem and
// refuses to start anything, so every check reports instead of stopping at the first.
#pragma once

#include <string>
#include <vector>

namespace brood::supervisor {

struct position {
    std::string file;
    unsigned line = 0;    // 1-based; 0 when the problem is about the whole file
    unsigned column = 0;  // 1-based; 0 when the problem is about the whole line
    friend bool operator==(const position&, const position&) = default;
};

struct problem {
    position where;
    std::string message;
    friend bool operator==(const problem&, const problem&) = default;
};

// A problem about the whole file ("brood.toml: message"). Made out of line: GCC 12, inlining a
// braced temporary problem whose position names only its file, takes its strings for
// uninitialized (-Wmaybe-uninitialized).
problem about_file(std::string file, std::string message);

// "brood.toml:3:5: message", the form compilers use, so editors can jump to it;
// "Procfile:3: message" without a column, "brood.toml: message" without a line.
std::string to_string(const problem& p);

// File order: by line, then column; problems at the same place keep their order.
void sort_by_position(std::vector<problem>& problems);

}  // namespace brood::supervisor
