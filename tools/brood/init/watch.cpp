// brood watch: run a program and print each of its lifecycle events as it happens.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/duration.hpp"
#include "init/event_log.hpp"
#include "subcommands.hpp"
#include "init/init_loop.hpp"

namespace brood::cli {

namespace {

struct watch_options {
    std::vector<std::string> argv;
    bool json = false;
    bool tree = false;
    std::string grace = "5s";
};

int watch_main(const watch_options& o) {
    event_log log(stdout, o.json ? event_log::format::json : event_log::format::human);
    init_options s;
    s.argv = o.argv;
    s.subreaper = o.tree;  // descendants are brood's to see (and to end) only with --tree
    s.grace = *parse_duration(o.grace);
    s.report_stops = true;
    s.track_tree = o.tree;
    s.log = &log;
    return run_as_init(s);
}

}  // namespace

subcommand add_watch_command(CLI::App& brood) {
    auto o = std::make_shared<watch_options>();
    CLI::App* watch = brood.add_subcommand(
        "watch",
        "Run PROGRAM and print one line per lifecycle event as it happens: started, stopped by\n"
        "SIGNAL, continued, exited with code / killed by SIGNAL, each with a timestamp and pid.");
    watch->add_flag("--json", o->json,
                    "Print JSON lines: {\"time\":\"...\",\"pid\":42,\"event\":\"stopped\",\"signal\":\"SIGSTOP\"} "
                    "(brood watch --json -- sleep 60 | jq .event).");
    watch->add_flag("--tree", o->tree,
                    "Also report every descendant (brood becomes their subreaper): started with its "
                    "parent pid, exec, exit; leftovers are ended as brood run does "
                    "(brood watch --tree -- make -j4).");
    watch->add_option("--grace", o->grace,
                      "With --tree: when PROGRAM has exited, how long leftover descendants get between "
                      "SIGTERM and SIGKILL (brood watch --tree --grace 1s -- app).")
        ->check(check_duration)
        ->default_str("5s");
    watch->add_option("program", o->argv, "PROGRAM [ARGS...]: what to run, looked up in PATH")->required();
    watch->positionals_at_end();
    watch->footer(
        "Events are read from pidfds and a signalfd, never polled: a stop is printed within\n"
        "milliseconds. Exit status: as brood run's (PROGRAM's status, 126/127, 2).\n"
        "Examples:\n"
        "  brood watch -- sleep 60          then, elsewhere: kill -STOP <pid>; kill -CONT <pid>\n"
        "  brood watch --json --tree -- sh -c 'sleep 1 & wait'");
    return {watch, [o] { return watch_main(*o); }};
}

}  // namespace brood::cli
