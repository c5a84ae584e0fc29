// brood watch: run a program and print each of its lifecycle events as it happens.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "init/commands.hpp"
#include "init/event_log.hpp"
#include "init/init_loop.hpp"

namespace brood::cli {

namespace {

struct watch_options {
    std::vector<std::string> argv;
    bool json = false;
    bool tree = false;
    std::chrono::milliseconds grace{5000};  // "5s": parsed only when given (its parser maps a table)
};

int watch_main(const watch_options& o) {
    event_log log(stdout, o.json ? event_log::format::json : event_log::format::human);
    init_options s;
    s.argv = o.argv;
    s.subreaper = o.tree;  // descendants are brood's to see (and to end) only with --tree
    s.grace = o.grace;
    s.report_stops = true;
    s.track_tree = o.tree;
    s.log = &log;
    return run_as_init(s);
}

constexpr option<watch_options> watch_options_table[] = {
    {{'\0', "json", nullptr, nullptr, false,
      "Print JSON lines: {\"time\":\"...\",\"pid\":42,\"event\":\"stopped\",\"signal\":\"SIGSTOP\"} "
      "(brood watch --json -- sleep 60 | jq .event)."},
     set_flag<watch_options, &watch_options::json>},
    {{'\0', "tree", nullptr, nullptr, false,
      "Also report every descendant (brood becomes their subreaper): started with its "
      "parent pid, exec, exit; leftovers are ended as brood run does "
      "(brood watch --tree -- make -j4)."},
     set_flag<watch_options, &watch_options::tree>},
    {{'\0', "grace", "DURATION", "5s", false,
      "With --tree: when PROGRAM has exited, how long leftover descendants get between "
      "SIGTERM and SIGKILL (brood watch --tree --grace 1s -- app)."},
     set_duration<watch_options, &watch_options::grace>},
};

constexpr command_text watch_text = {
    "watch",
    "Run PROGRAM and print one line per lifecycle event as it happens: started, stopped by\n"
    "SIGNAL, continued, exited with code / killed by SIGNAL, each with a timestamp and pid.",
    "PROGRAM", "what to run, looked up in PATH, and its arguments",
    "Events are read from pidfds and a signalfd, never polled: a stop is printed within\n"
    "milliseconds. Exit status: as brood run's (PROGRAM's status, 126/127, 2).\n"
    "Examples:\n"
    "  brood watch -- sleep 60          then, elsewhere: kill -STOP <pid>; kill -CONT <pid>\n"
    "  brood watch --json --tree -- sh -c 'sleep 1 & wait'"};

int watch_command_line(int argc, char** argv) {
    watch_options o;
    if (const auto code = read_command_line(watch_text, watch_options_table, argc, argv, o, o.argv)) return *code;
    return watch_main(o);
}

}  // namespace

const table_command watch_command = {&watch_text, watch_command_line};

}  // namespace brood::cli
