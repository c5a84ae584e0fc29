// The control verbs: status, start, stop, restart, pause, resume, signal, logs, events, reload and
// shutdown, each a request to a running `brood up` over its control socket (docs/protocol.md).
#include <chrono>
#include <csignal>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include <brood/signal.hpp>

#include "control/client.hpp"
#include "common/exit_codes.hpp"
#include "common/duration.hpp"
#include "verbs/attach.hpp"
#include "verbs/control_socket.hpp"
#include "verbs/log_tail.hpp"
#include "common/timestamp.hpp"
#include "control/readiness.hpp"
#include "control/verb_goal.hpp"
#include "common/duration.hpp"
#include "verbs/secret_variables.hpp"
#include "verbs/status_table.hpp"
#include "subcommands.hpp"

namespace brood::cli {
namespace {

constexpr auto follow_interval = std::chrono::milliseconds(200);

struct verb_arguments {
    std::string config;
    std::string socket;
    std::vector<std::string> targets;
    std::string signal;
    bool json = false;
    bool environment = false;
    bool show_secrets = false;
    bool check = false;
    bool follow = false;
    bool no_wait = false;
    std::string timeout;  // empty: wait as long as it takes
    std::size_t lines = 10;
    std::string since;   // brood logs --since 10m
    std::string stream;  // brood logs --stream stderr
    bool lines_given = false;
};

std::string joined(const nlohmann::json& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : " ") + name.get<std::string>();
    return text;
}

int print_result(const std::string& verb, const nlohmann::json& result, const verb_arguments& a) {
    if (verb == "status" && a.check) {
        const std::optional<std::string> why = control::not_ready(result);
        fmt::print("{}\n", why ? *why : fmt::format("ready: {} instances", result.value("instances", nlohmann::json::array()).size()));
        return why ? exit_failure : 0;
    }
    if (verb == "status") {
        fmt::print("{}", a.json ? result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                                : status_table(result));
    } else if (verb == "reload") {
        bool any = false;
        for (const char* kind : {"added", "removed", "changed"})
            if (!result.value(kind, nlohmann::json::array()).empty()) {
                fmt::print("{}: {}\n", kind, joined(result[kind]));
                any = true;
            }
        if (!any) fmt::print("nothing changed\n");
    } else if (verb == "scale") {
        for (const char* kind : {"started", "stopping"})
            if (!result.value(kind, nlohmann::json::array()).empty()) fmt::print("{}: {}\n", kind, joined(result[kind]));
        if (result.value("started", nlohmann::json::array()).empty() && result.value("stopping", nlohmann::json::array()).empty())
            fmt::print("nothing to change\n");
    } else if (result.contains("instances")) {
        if (result["instances"].empty()) fmt::print("{}: no instance\n", verb);
        else fmt::print("{}: {}\n", verb, joined(result["instances"]));
    }
    return 0;
}

int follow_events(control::client& supervisor) {
    supervisor.call("events");
    while (auto event = supervisor.next_event()) {
        fmt::print("{}\n", event->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        std::fflush(stdout);
    }
    return 0;  // the supervisor went away
}

// The log files of the targets. The connection is closed on return: the logs are read from their
// files, and -f may follow them for days without holding one of the supervisor's connections.
nlohmann::json log_files(const std::filesystem::path& socket, const verb_arguments& a) {
    return control::client(socket).call("logs", a.targets).value("files", nlohmann::json::array());
}

// --since and --stream read each line's time and stream, which a plain log without timestamps
// does not have: refused then, naming the instance and what to set.
std::optional<log_filter> filter_of(const nlohmann::json& file, const verb_arguments& a) {
    if (a.since.empty() && a.stream.empty()) return std::nullopt;
    const bool json = file.value("format", "plain") == "json";
    if (!json && !file.value("timestamps", false))
        throw std::runtime_error(fmt::format("{}'s log records no times nor streams: --since and --stream need "
                                             "log.timestamps = true or log.format = \"json\"",
                                             file.value("name", "")));
    log_filter filter;
    filter.json = json;
    if (!a.since.empty())
        filter.since = timestamp(std::chrono::system_clock::now() - *parse_duration(a.since));
    if (!a.stream.empty()) filter.stream = a.stream;
    return filter;
}

int print_logs(const nlohmann::json& files, const verb_arguments& a) {
    std::size_t width = 0;
    for (const auto& f : files) width = std::max(width, f.value("name", "").size());
    std::vector<log_tail> tails;
    for (const auto& f : files) {
        const std::string name = f.value("name", "");
        if (f.value("to", "file") == "stdout") {
            fmt::print(stderr, "brood: {} logs to brood's standard output (log.to = \"stdout\"): no file to read\n", name);
            continue;
        }
        tails.emplace_back(f.value("log", ""), files.size() > 1 ? fmt::format("{:<{}} | ", name, width) : "",
                           filter_of(f, a));
    }
    // With --since, every line since then unless -n says how many of the last.
    const std::size_t lines = !a.since.empty() && !a.lines_given ? std::numeric_limits<std::size_t>::max() : a.lines;
    for (log_tail& tail : tails) tail.print_last(lines, stdout);
    while (a.follow) {  // until interrupted, as tail -f
        std::this_thread::sleep_for(follow_interval);
        for (log_tail& tail : tails) tail.print_new(stdout);
    }
    return 0;
}

// brood status NAME --env: KEY=value lines, secrets masked unless --show-secrets; with more than
// one instance, each block after a "# NAME" line.
int print_environment(const nlohmann::json& result, const verb_arguments& a) {
    const nlohmann::json& instances = result.at("instances");
    for (const nlohmann::json& i : instances) {
        if (instances.size() > 1) fmt::print("# {}\n", i.value("name", ""));
        for (const auto& [key, value] : i.at("environment").items())
            fmt::print("{}={}\n", key,
                       looks_secret(key) && !a.show_secrets ? std::string(masked_value) : value.get<std::string>());
    }
    return 0;
}

// start, stop, restart: the request, then each target followed to its goal. One connection follows
// the events first, so that the status, the verb's reply and the events come in the order they
// happened: nothing is missed between looking and acting.
int act_and_wait(control::client& supervisor, const std::string& verb, const verb_arguments& a) {
    const auto until = a.timeout.empty() ? std::chrono::steady_clock::time_point::max()
                                         : std::chrono::steady_clock::now() + *parse_duration(a.timeout);
    supervisor.call("events");
    control::verb_goal goal(control::verb_goal::for_verb(verb), supervisor.call("status"));
    const nlohmann::json acted =
        supervisor.call(verb, a.targets, 0, [&](const nlohmann::json& event) { goal.apply(event); });
    goal.target(acted.value("instances", nlohmann::json::array()));
    bool timed_out = false;
    while (!goal.settled() && !timed_out) {
        const std::optional<nlohmann::json> event = supervisor.next_event(until, timed_out);
        if (event) goal.apply(*event);
        else if (!timed_out) throw std::runtime_error("the supervisor closed the connection while " + verb + " was under way");
    }
    for (const std::string& line : goal.report()) fmt::print("{}\n", line);
    if (timed_out) fmt::print(stderr, "brood: {} did not finish within {}\n", verb, a.timeout);
    return goal.any_failed() ? exit_failure : 0;
}

int run_verb(const std::string& verb, const verb_arguments& a) {
    const std::filesystem::path socket = control_socket(a.config, a.socket);
    if (socket.empty()) return exit_usage;
    try {
        if (verb == "logs") return print_logs(log_files(socket, a), a);
        if (verb == "attach") return attach_terminal(socket, a.targets.front());
        control::client supervisor(socket);
        if (verb == "events") return follow_events(supervisor);
        if (verb == "status" && a.environment) return print_environment(supervisor.call("environment", a.targets), a);
        if ((verb == "start" || verb == "stop" || verb == "restart") && !a.no_wait) return act_and_wait(supervisor, verb, a);
        const int signal = verb == "signal" ? *parse_signal(a.signal) : 0;
        return print_result(verb, supervisor.call(verb, a.targets, signal), a);
    } catch (const control::no_supervisor& e) {
        fmt::print(stderr, "brood: {}\n", e.what());
    } catch (const control::request_error& e) {
        fmt::print(stderr, "brood: {}\n", e.what());
    } catch (const std::runtime_error& e) {  // the connection broke, or a log could not be read
        fmt::print(stderr, "brood: {}\n", e.what());
    }
    return exit_failure;
}

CLI::App* add_verb(CLI::App& brood, std::vector<subcommand>& verbs, const std::string& verb, const std::string& help,
                   const std::shared_ptr<verb_arguments>& a) {
    CLI::App* app = brood.add_subcommand(verb, help);
    app->add_option("-c,--config", a->config,
                    "The supervisor's configuration, to find its socket beside it (default: brood.toml, else "
                    "Procfile, in the current directory)");
    app->add_option("--socket", a->socket, "The control socket (default: .brood/brood.sock beside the configuration)");
    verbs.push_back({app, [verb, a] { return run_verb(verb, *a); }});
    return app;
}

}  // namespace

std::vector<subcommand> add_control_commands(CLI::App& brood) {
    std::vector<subcommand> verbs;
    const auto targets_help = "Programs (web), instances (web.1) or all";
    {
        auto a = std::make_shared<verb_arguments>();
        CLI::App* status = add_verb(brood, verbs, "status", "Show each instance of a running brood up: state, pid, "
                                                            "uptime, restarts, last exit, memory", a);
        CLI::Option* json = status->add_flag("--json", a->json, "Print the supervisor's status as JSON (brood status --json | jq)");
        CLI::Option* targets = status->add_option("targets", a->targets, "With --env: programs (web), instances (web.1) or all");
        CLI::Option* environment = status->add_flag(
            "--env", a->environment,
            "Print the environment each instance of the targets gets, KEY=value; values of *_TOKEN, *_PASSWORD, "
            "*_SECRET and *_KEY are masked (brood status web --env)");
        environment->needs(targets)->excludes(json);
        targets->needs(environment);
        status->add_flag("--show-secrets", a->show_secrets, "With --env: print secret values as they are")->needs(environment);
        status->add_flag("--check", a->check,
                         "Exit 0 when every program is ready (stopped ones and jobs that exited 0 count as "
                         "fine), 1 with one line of why otherwise: a probe for Kubernetes or Docker")
            ->excludes(environment);
    }
    const std::pair<const char*, const char*> actions[] = {
        {"start", "Start programs or instances that are stopped, and wait until they run (brood start web)"},
        {"stop", "Stop programs or instances: stop signal, then SIGKILL after their stop_timeout; wait until they "
                 "have stopped (brood stop all)"},
        {"restart", "Stop, then start programs or instances, and wait until they run again (brood restart web.1)"},
        {"pause", "Freeze programs or instances (SIGSTOP to each group) (brood pause worker)"},
        {"resume", "Continue paused programs or instances (SIGCONT) (brood resume worker)"},
    };
    for (const auto& [verb, help] : actions) {
        auto a = std::make_shared<verb_arguments>();
        CLI::App* app = add_verb(brood, verbs, verb, help, a);
        app->add_option("targets", a->targets, targets_help)->required();
        if (std::string_view(verb) == "pause" || std::string_view(verb) == "resume") continue;
        app->add_flag("--no-wait", a->no_wait, "Return once the supervisor has the request, not when it is done");
        app->add_option("--timeout", a->timeout, "Wait at most this long (5s, 1m): exit 1 if a target is not there by then")
            ->check(check_duration);
    }
    {
        auto a = std::make_shared<verb_arguments>();
        CLI::App* signal = add_verb(brood, verbs, "signal", "Send a signal to programs or instances (brood signal HUP web)", a);
        signal->add_option("signal", a->signal, "The signal: HUP, SIGUSR1, 10...")->required()->check(check_signal);
        signal->add_option("targets", a->targets, targets_help)->required();
    }
    {
        auto a = std::make_shared<verb_arguments>();
        CLI::App* logs = add_verb(brood, verbs, "logs", "Print the last lines of programs' logs; -f follows them "
                                                        "(brood logs -f web)", a);
        logs->add_flag("-f,--follow", a->follow, "Keep printing lines as they are written, across rotations, until ^C");
        logs->add_option("-n,--lines", a->lines, "How many of the last lines (default 10; with --since, all)")
            ->check(CLI::NonNegativeNumber)
            ->each([a](const std::string&) { a->lines_given = true; });
        logs->add_option("--since", a->since,
                         "Only lines written in this last while: 30s, 10m, 2h... (needs log.timestamps = true or "
                         "log.format = \"json\")")
            ->check([](const std::string& text) {
                return parse_duration(text) ? std::string() : "a duration like 30s, 10m or 2h, not " + text;
            });
        logs->add_option("--stream", a->stream, "Only lines of stdout, stderr or tty (needs timestamps or json, as --since)")
            ->check(CLI::IsMember({"stdout", "stderr", "tty"}));
        logs->add_option("targets", a->targets, targets_help)->required();
    }
    {
        auto a = std::make_shared<verb_arguments>();
        add_verb(brood, verbs, "scale", "Change how many instances of programs run: new ones start, those beyond "
                                        "the count stop, highest index first (brood scale web=4 worker=1)", a)
            ->add_option("counts", a->targets, "NAME=COUNT, COUNT from 0 to 1000")
            ->required();
    }
    {
        auto a = std::make_shared<verb_arguments>();
        add_verb(brood, verbs, "attach", "Connect this terminal to an instance that runs on a terminal of its own "
                                         "(tty = true); Ctrl-] detaches and leaves it running (brood attach web.0)", a)
            ->add_option("target", a->targets, "The instance (web.0), or a program with one instance")
            ->required()
            ->expected(1);
    }
    add_verb(brood, verbs, "events", "Print each state change of a running brood up as a JSON line, until ^C",
             std::make_shared<verb_arguments>());
    add_verb(brood, verbs, "reload", "Reread the configuration: start added programs, stop removed ones, restart "
                                     "changed ones (as SIGHUP does)", std::make_shared<verb_arguments>());
    add_verb(brood, verbs, "shutdown", "Stop every program and end brood up", std::make_shared<verb_arguments>());
    return verbs;
}

}  // namespace brood::cli
