// brood up: run the programs of brood.toml (or a Procfile) under supervision, in the foreground.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/core.h>

#include <brood/cgroup.hpp>

#include "common/exit_codes.hpp"
#include "subcommands.hpp"
#include "supervisor/config.hpp"
#include "supervisor/isolation.hpp"
#include "supervisor/supervisor.hpp"

namespace brood::cli {

namespace {

struct up_arguments {
    std::string config;
    std::string socket;
    std::string env_file;
    std::string http;
    bool cleanup = false;
    bool log_to_stdout = false;
};

// brood up --cleanup: what brood up does first, and nothing else.
int cleanup_main() {
    const std::optional<std::filesystem::path> current = current_cgroup();
    if (!current) {
        fmt::print("brood: no cgroup v2 hierarchy holds this process: nothing to clean\n");
        return 0;
    }
    const supervisor::stale_sweep sweep = supervisor::remove_stale_groups(*current);
    for (const auto& group : sweep.removed) fmt::print("brood: removed {}, left by a brood up that is gone\n", group.string());
    for (const auto& failure : sweep.failures) fmt::print(stderr, "brood: could not remove a stale group: {}\n", failure);
    if (sweep.removed.empty() && sweep.failures.empty())
        fmt::print("brood: no group left by a brood up that is gone in {}\n", current->string());
    return sweep.failures.empty() ? 0 : exit_failure;
}

int up_main(const up_arguments& arguments) {
    if (arguments.cleanup) return cleanup_main();
    supervisor::up_options options;
    if (arguments.config.empty()) {
        const std::optional<std::filesystem::path> found = supervisor::find_config(std::filesystem::current_path());
        if (!found) {
            fmt::print(stderr, "brood: no brood.toml or Procfile in {} (name one with -c FILE)\n",
                       std::filesystem::current_path().string());
            return exit_usage;
        }
        options.config = *found;
    } else {
        options.config = arguments.config;
    }
    if (!arguments.socket.empty()) options.socket = arguments.socket;
    if (!arguments.env_file.empty()) options.load.env_file = std::filesystem::absolute(arguments.env_file);
    options.log_to_stdout = arguments.log_to_stdout;
    if (!arguments.http.empty()) {
        options.http = supervisor::parse_listen_address(arguments.http);
        if (!options.http) {
            fmt::print(stderr, "brood: --http {}: expected ADDRESS:PORT with a literal IPv4 or [IPv6] address, "
                               "such as 127.0.0.1:9180\n", arguments.http);
            return exit_usage;
        }
    }
    return supervisor::run_supervisor(options);
}

}  // namespace

subcommand add_up_command(CLI::App& brood) {
    auto arguments = std::make_shared<up_arguments>();
    CLI::App* up = brood.add_subcommand(
        "up",
        "Run the programs of brood.toml (or a Procfile) under supervision: restarts with backoff, "
        "readiness and dependencies, logs, pause/resume, reload on SIGHUP, control over a unix socket.");
    CLI::Option* config = up->add_option("-c,--config", arguments->config,
                   "The configuration file (default: brood.toml, else Procfile, in the current directory) "
                   "(brood up -c deploy/brood.toml).");
    CLI::Option* socket = up->add_option("--socket", arguments->socket,
                   "The control socket (default: .brood/brood.sock next to the configuration) "
                   "(brood up --socket /run/app.sock).");
    CLI::Option* env_file = up->add_option("--env", arguments->env_file,
                   "With a Procfile: the variables of this file, instead of those of the .env beside it "
                   "(brood up --env .env.test).");
    CLI::Option* log_to_stdout = up->add_flag("--log-to-stdout", arguments->log_to_stdout,
                 "Write no log files: every line of every program goes to brood's standard output, behind its "
                 "instance's name, as log.to = \"stdout\" does; for docker logs and kubectl logs.");
    CLI::Option* http = up->add_option("--http", arguments->http,
                   "Serve metrics, the API, the event stream and a web page over HTTP at ADDRESS:PORT "
                   "(over [http] listen); POST verbs need the bearer token of .brood/http.token "
                   "(brood up --http 127.0.0.1:9180).");
    up->add_flag("--cleanup", arguments->cleanup,
                 "Only end what brood ups killed with SIGKILL left in this cgroup (their brood-up.PID groups "
                 "and every process in them), as brood up does before it starts, then exit: for a boot "
                 "script or a container's pre-start hook.")
        ->excludes(config)
        ->excludes(socket)
        ->excludes(env_file)
        ->excludes(log_to_stdout)
        ->excludes(http);
    up->footer(
        "Exit status: 0 after SIGTERM, SIGINT or the shutdown verb; an essential program's code when its\n"
        "end stopped everything; 2 for a usage error or a configuration problem (each printed as\n"
        "file:line:col: message); 125 when brood itself fails. With --cleanup: 0 once nothing stale is\n"
        "left (or there are no cgroups), 1 when a stale group could not be removed.\n"
        "Examples:\n"
        "  brood up                         run ./brood.toml (or ./Procfile) until SIGTERM or ^C\n"
        "  brood up -c /etc/app/brood.toml  a configuration elsewhere; logs in /etc/app/.brood/logs\n"
        "  brood up --log-to-stdout         in a container: every line to stdout, no log files\n"
        "  brood up --http 127.0.0.1:9180   also /metrics, /api/v1/... and a web page at http://127.0.0.1:9180/\n"
        "  kill -HUP $(pidof brood)         reload: start added programs, restart changed ones\n"
        "  brood up --cleanup               end what a brood up killed with SIGKILL left running");
    return {up, [arguments] { return up_main(*arguments); }};
}

}  // namespace brood::cli
