// brood: run a program as an init (run), watch its lifecycle (watch), inspect a process tree (tree).
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <brood/signal.hpp>

#include "common/duration.hpp"
#include "common/exit_codes.hpp"
#include "subcommands.hpp"

namespace brood::cli {

std::string check_duration(const std::string& text) {
    return parse_duration(text) ? std::string() : "not a duration (try 5s, 500ms, 1.5s, 2m): " + text;
}

std::string check_signal(const std::string& text) {
    return parse_signal(text) ? std::string() : "not a signal (try TERM, SIGKILL, 9): " + text;
}

namespace {

// Building a parser for every subcommand and option is most of what brood run does before it
// spawns (about a million instructions, from CLI11's option objects): as an init its start is
// on the container's critical path. So a command named first is the only one built; anything
// else (help, a control verb, a mistake) gets them all.
std::vector<subcommand> add_commands(CLI::App& app, std::string_view first) {
    using adder = subcommand (*)(CLI::App&);
    const std::pair<std::string_view, adder> commands[] = {
        {"run", add_run_command}, {"watch", add_watch_command}, {"tree", add_tree_command}, {"up", add_up_command},
        {"top", add_top_command}};
    for (const auto& [name, add] : commands)
        if (first == name) return {add(app)};
    std::vector<subcommand> all;
    for (const auto& command : commands) all.push_back(command.second(app));
    for (subcommand& verb : add_control_commands(app)) all.push_back(std::move(verb));
    return all;
}

}  // namespace

}  // namespace brood::cli

int main(int argc, char** argv) {
    using namespace brood::cli;
    CLI::App app("brood: child processes done right. An init for containers (run), a lifecycle "
                 "watcher (watch) and a process-tree viewer (tree).",
                 "brood");
    app.set_version_flag("--version", "brood " BROOD_VERSION);
    app.require_subcommand(1, 1);
    app.footer("Examples:\n"
               "  brood run -- python3 server.py        run as a container's PID 1 or a subreaper\n"
               "  brood watch --tree -- make -j4        print every lifecycle event as it happens\n"
               "  brood tree                            the processes of this terminal's session\n"
               "  brood up                              supervise the programs of ./brood.toml\n"
               "  brood top                             watch and steer them, full-screen\n"
               "Run 'brood COMMAND --help' for each command's options.");
    const std::vector<subcommand> commands = add_commands(app, argc > 1 ? argv[1] : "");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Help and version exit 0; every other parse error is a usage error, exit 2.
        return app.exit(error) == 0 ? 0 : exit_usage;
    }
    try {
        for (const subcommand& command : commands)
            if (command.app->parsed()) return command.main();
    } catch (const std::exception& error) {
        fmt::print(stderr, "brood: {}\n", error.what());
        return exit_internal;
    }
    return exit_usage;
}
