// Each subcommand adds its options to the command line parser and returns what runs it.
#pragma once

#include <functional>
#include <vector>

#include "cli11.hpp"

#include "common/value_checks.hpp"  // check_duration, check_signal: validators for CLI11 options

namespace brood::cli {

struct subcommand {
    CLI::App* app;               // parsed when this subcommand was chosen
    std::function<int()> main;   // runs it; returns brood's exit code
};

subcommand add_tree_command(CLI::App& brood);
subcommand add_up_command(CLI::App& brood);
subcommand add_top_command(CLI::App& brood);
// status, start, stop, restart, pause, resume, signal, logs, events, reload, shutdown: requests to
// a running brood up over its control socket.
std::vector<subcommand> add_control_commands(CLI::App& brood);

}  // namespace brood::cli
