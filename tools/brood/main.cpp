// brood: run a program as an init (run), watch its lifecycle (watch), inspect a process tree (tree).
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "common/exit_codes.hpp"
#include "init/commands.hpp"
#include "subcommands.hpp"

namespace brood::cli {

namespace {

template <class Main>
int report_failure(Main main) {
    try {
        return main();
    } catch (const std::exception& error) {
        fmt::print(stderr, "brood: {}\n", error.what());
        return exit_internal;
    }
}

// Building a parser for every subcommand and option costs far more than a command's own start
// (about a million instructions, from CLI11's option objects). So a command named first is the
// only one built; anything else (help, a control verb, a mistake) gets them all.
std::vector<subcommand> add_commands(CLI::App& app, std::string_view first) {
    using adder = subcommand (*)(CLI::App&);
    const std::pair<std::string_view, adder> commands[] = {
        {"tree", add_tree_command}, {"up", add_up_command}, {"top", add_top_command}};
    for (const auto& [name, add] : commands)
        if (first == name) return {add(app)};
    std::vector<subcommand> all;
    // run and watch never get here (main hands them their arguments first): listed for brood --help.
    for (const table_command* command : {&run_command, &watch_command})
        app.add_subcommand(command->text->name, command->text->description);
    for (const auto& command : commands) all.push_back(command.second(app));
    for (subcommand& verb : add_control_commands(app)) all.push_back(std::move(verb));
    return all;
}

}  // namespace

}  // namespace brood::cli

int main(int argc, char** argv) {
    using namespace brood::cli;
    // brood run, as a container's PID 1, is on its critical path: no CLI11 objects are built for it.
    for (const table_command* command : {&run_command, &watch_command})
        if (argc > 1 && std::string_view(argv[1]) == command->text->name)
            return report_failure([&] { return command->main(argc - 1, argv + 1); });
    const std::ios_base::Init standard_streams;  // CLI11 prints with them (cli11.hpp)
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
    for (const subcommand& command : commands)
        if (command.app->parsed()) return report_failure(command.main);
    return exit_usage;
}
