// brood run: an init for containers (and a subreaper anywhere else).
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <brood/signal.hpp>

#include "common/duration.hpp"
#include "init/event_log.hpp"
#include "subcommands.hpp"
#include "init/init_loop.hpp"

namespace brood::cli {

namespace {

struct run_options {
    std::vector<std::string> argv;
    bool group = false;
    bool no_subreaper = false;
    std::string grace = "5s";
    std::string death_signal;
    bool events = false;
    std::vector<std::string> remaps;
};

// "N:M" with both in 0..255: exit code N becomes M.
std::optional<std::pair<int, int>> parse_remap(const std::string& text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    int from = -1, to = -1;
    const char* end = text.data() + text.size();
    const auto a = std::from_chars(text.data(), text.data() + colon, from);
    const auto b = std::from_chars(text.data() + colon + 1, end, to);
    if (a.ec != std::errc() || a.ptr != text.data() + colon || b.ec != std::errc() || b.ptr != end) return std::nullopt;
    if (from < 0 || from > 255 || to < 0 || to > 255) return std::nullopt;
    return std::pair{from, to};
}

int run_main(const run_options& o) {
    init_options s;
    s.argv = o.argv;
    s.subreaper = !o.no_subreaper;
    s.to_group = o.group;
    s.grace = *parse_duration(o.grace);
    if (!o.death_signal.empty()) s.death_signal = *parse_signal(o.death_signal);
    event_log log(stderr, event_log::format::human);
    if (o.events) {
        s.log = &log;
        s.report_stops = true;
        s.report_forwarding = true;
    }
    std::map<int, int> remap;
    for (const std::string& r : o.remaps) remap.insert(*parse_remap(r));
    const int code = run_as_init(s);
    const auto mapped = remap.find(code);
    return mapped == remap.end() ? code : mapped->second;
}

}  // namespace

subcommand add_run_command(CLI::App& brood) {
    auto o = std::make_shared<run_options>();
    CLI::App* run = brood.add_subcommand(
        "run",
        "Run PROGRAM as an init: forward signals to it, reap every zombie, exit with its status.\n"
        "Use it as a container's entrypoint (PID 1) or anywhere as a subreaper.");
    run->add_flag("-g,--group", o->group,
                  "Start PROGRAM in a process group of its own and forward signals to the whole group, "
                  "so they reach its children too (brood run -g -- sh -c 'worker & worker').");
    run->add_flag("--no-subreaper", o->no_subreaper,
                  "When not PID 1, do not become a child subreaper: orphans then go to the real init "
                  "and brood cannot reap them (brood run --no-subreaper -- make).");
    run->add_option("--grace", o->grace,
                    "When PROGRAM has exited, how long its leftover descendants get between SIGTERM "
                    "and SIGKILL (brood run --grace 10s -- app).")
        ->check(check_duration)
        ->default_str("5s");
    run->add_option("--pdeathsig", o->death_signal,
                    "Signal PROGRAM gets if brood dies (PR_SET_PDEATHSIG) (brood run --pdeathsig KILL -- app).")
        ->check(check_signal);
    run->add_flag("--events", o->events,
                  "Print each lifecycle event (started, stopped, exited, orphan reaped, signal "
                  "forwarded) to stderr (brood run --events -- app).");
    run->add_option("--remap-exit", o->remaps,
                    "Exit with M when the exit code would be N (128+N when killed by signal N); "
                    "may be repeated (brood run --remap-exit 143:0 -- app).")
        ->check([](const std::string& text) {
            return parse_remap(text) ? std::string() : "expected N:M with 0 <= N, M <= 255: " + text;
        });
    run->add_option("program", o->argv, "PROGRAM [ARGS...]: what to run, looked up in PATH")->required();
    run->positionals_at_end();
    run->footer(
        "Exit status: PROGRAM's, or 128+N when signal N killed it; 126 when PROGRAM cannot be\n"
        "executed, 127 when it is not found, 2 for a usage error, 125 when brood itself fails.\n"
        "Examples:\n"
        "  brood run -- nginx -g 'daemon off;'      Dockerfile: ENTRYPOINT [\"brood\", \"run\", \"--\"]\n"
        "  brood run -g --grace 30s -- ./start.sh   signals reach the script's children too\n"
        "  unshare --pid --fork brood run -- app    PID 1 of a new PID namespace");
    return {run, [o] { return run_main(*o); }};
}

}  // namespace brood::cli
