// brood run: an init for containers (and a subreaper anywhere else).
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <brood/signal.hpp>

#include "common/value_checks.hpp"
#include "init/commands.hpp"
#include "init/event_log.hpp"
#include "init/init_loop.hpp"

namespace brood::cli {

namespace {

struct run_options {
    std::vector<std::string> argv;
    bool group = false;
    bool no_subreaper = false;
    std::chrono::milliseconds grace{5000};  // "5s": parsed only when given (its parser maps a table)
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
    s.grace = o.grace;
    if (!o.death_signal.empty()) s.death_signal = *parse_signal(o.death_signal);
    event_log log(stderr, event_log::format::human);
    if (o.events) {
        s.log = &log;
        s.report_stops = true;
        s.report_forwarding = true;
    }
    std::map<int, int> remap;
    for (const std::string& r : o.remaps) remap.insert(*parse_remap(r));
    const auto exit_code = [&remap](int code) {
        const auto mapped = remap.find(code);
        return mapped == remap.end() ? code : mapped->second;
    };
    // The program's end is brood's: nothing is destroyed or closed on the way out (exit_group does it).
    s.leave = [&exit_code](int code) {
        std::fflush(nullptr);
        std::_Exit(exit_code(code));
    };
    return exit_code(run_as_init(s));
}

constexpr option<run_options> run_options_table[] = {
    {{'g', "group", nullptr, nullptr, false,
      "Start PROGRAM in a process group of its own and forward signals to the whole group, "
      "so they reach its children too (brood run -g -- sh -c 'worker & worker')."},
     set_flag<run_options, &run_options::group>},
    {{'\0', "no-subreaper", nullptr, nullptr, false,
      "When not PID 1, do not become a child subreaper: orphans then go to the real init "
      "and brood cannot reap them (brood run --no-subreaper -- make)."},
     set_flag<run_options, &run_options::no_subreaper>},
    {{'\0', "grace", "DURATION", "5s", false,
      "When PROGRAM has exited, how long its leftover descendants get between SIGTERM "
      "and SIGKILL (brood run --grace 10s -- app)."},
     set_duration<run_options, &run_options::grace>},
    {{'\0', "pdeathsig", "SIGNAL", nullptr, false,
      "Signal PROGRAM gets if brood dies (PR_SET_PDEATHSIG) (brood run --pdeathsig KILL -- app)."},
     [](run_options& o, const char* value) {
         o.death_signal = value;
         return check_signal(o.death_signal);
     }},
    {{'\0', "events", nullptr, nullptr, false,
      "Print each lifecycle event (started, stopped, exited, orphan reaped, signal "
      "forwarded) to stderr (brood run --events -- app)."},
     set_flag<run_options, &run_options::events>},
    {{'\0', "remap-exit", "N:M", nullptr, true,
      "Exit with M when the exit code would be N (128+N when killed by signal N); "
      "may be repeated (brood run --remap-exit 143:0 -- app)."},
     [](run_options& o, const char* value) {
         o.remaps.emplace_back(value);
         return parse_remap(value) ? std::string() : fmt::format("expected N:M with 0 <= N, M <= 255: {}", value);
     }},
};

constexpr command_text run_text = {
    "run",
    "Run PROGRAM as an init: forward signals to it, reap every zombie, exit with its status.\n"
    "Use it as a container's entrypoint (PID 1) or anywhere as a subreaper.",
    "PROGRAM", "what to run, looked up in PATH, and its arguments",
    "Exit status: PROGRAM's, or 128+N when signal N killed it; 126 when PROGRAM cannot be\n"
    "executed, 127 when it is not found, 2 for a usage error, 125 when brood itself fails.\n"
    "Examples:\n"
    "  brood run -- nginx -g 'daemon off;'      Dockerfile: ENTRYPOINT [\"brood\", \"run\", \"--\"]\n"
    "  brood run -g --grace 30s -- ./start.sh   signals reach the script's children too\n"
    "  unshare --pid --fork brood run -- app    PID 1 of a new PID namespace"};

int run_command_line(int argc, char** argv) {
    run_options o;
    if (const auto code = read_command_line(run_text, run_options_table, argc, argv, o, o.argv)) return *code;
    return run_main(o);
}

}  // namespace

const table_command run_command = {&run_text, run_command_line};

}  // namespace brood::cli
