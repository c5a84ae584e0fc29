// brood run and brood watch. They start a container's program, so their start is on its critical
// path: each reads its command line from a table of options (common/option_table.hpp), never
// building CLI11's objects, and main() hands them their arguments before CLI11 is set up.
#pragma once

#include "common/option_table.hpp"

namespace brood::cli {

struct table_command {
    const command_text* text;            // its name, and its description for brood --help
    int (*main)(int argc, char** argv);  // argv[0] is the command's name; returns brood's exit code
};

extern const table_command run_command;
extern const table_command watch_command;

}  // namespace brood::cli
