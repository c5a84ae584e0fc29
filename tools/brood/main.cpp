// brood: run a program as an init (run), watch its lifecycle (watch), inspect a process tree (tree).
#include <exception>
#include <vector>

#include <fmt/core.h>

#include <brood/signal.hpp>

#include "duration.hpp"
#include "exit_codes.hpp"
#include "subcommands.hpp"

namespace brood::cli {

std::string check_duration(const std::string& text) {
    return parse_duration(text) ? std::string() : "not a duration (try 5s, 500ms, 1.5s, 2m): " + text;
}

std::string check_signal(const std::string& text) {
    return parse_signal(text) ? std::string() : "not a signal (try TERM, SIGKILL, 9): " + text;
}

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
               "Run 'brood COMMAND --help' for each command's options.");
    const subcommand commands[] = {add_run_command(app), add_watch_command(app), add_tree_command(app),
                                   add_up_command(app)};
    const std::vector<subcommand> control_verbs = add_control_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Help and version exit 0; every other parse error is a usage error, exit 2.
        return app.exit(error) == 0 ? 0 : exit_usage;
    }
    try {
        for (const subcommand& command : commands)
            if (command.app->parsed()) return command.main();
        for (const subcommand& command : control_verbs)
            if (command.app->parsed()) return command.main();
    } catch (const std::exception& error) {
        fmt::print(stderr, "brood: {}\n", error.what());
        return exit_internal;
    }
    return exit_usage;
}
