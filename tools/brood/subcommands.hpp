// Each subcommand adds its options to the command line parser and returns what runs it.
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace brood::cli {

struct subcommand {
    CLI::App* app;               // parsed when this subcommand was chosen
    std::function<int()> main;   // runs it; returns brood's exit code
};

subcommand add_run_command(CLI::App& brood);
subcommand add_watch_command(CLI::App& brood);
subcommand add_tree_command(CLI::App& brood);
subcommand add_up_command(CLI::App& brood);
subcommand add_top_command(CLI::App& brood);
// status, start, stop, restart, pause, resume, signal, logs, events, reload, shutdown: requests to
// a running brood up over its control socket.
std::vector<subcommand> add_control_commands(CLI::App& brood);

// Validators shared by the subcommands: a duration ("5s", "500ms") and a signal ("TERM", "15").
std::string check_duration(const std::string& text);
std::string check_signal(const std::string& text);

}  // namespace brood::cli
