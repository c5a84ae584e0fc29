// brood up's runtime: every program instance of a configuration, run from one event loop.
//
//   brood::supervisor::up_options options{.config = "/srv/app/brood.toml"};
//   return brood::supervisor::run_supervisor(options);   // brood up's exit code
//
// One brood::monitor carries everything: the instances' leaders (exit, stop, continue), adopted
// orphans, step()'s timers, the output pipes, the notify sockets, the control socket and the
// signals brood receives (a signalfd): nothing runs asynchronously and nothing polls.
//
// Phases: the configuration is loaded (problems: exit 2, nothing started); brood becomes a
// subreaper, creates its cgroups when it can, listens on its sockets, and starts the programs in
// dependency order, each once every program it depends on is ready. SIGTERM / SIGINT / the
// shutdown verb stop the programs in reverse dependency order; then brood waits for every
// descendant left (SIGTERM, then SIGKILL after the largest stop_timeout), removes its cgroups and
// sockets, and exits 0, or with the code of the essential program whose end caused the shutdown.
#pragma once

#include <filesystem>
#include <optional>

#include "supervisor/config.hpp"

namespace brood::supervisor {

struct up_options {
    std::filesystem::path config;                // brood.toml or a Procfile
    std::optional<std::filesystem::path> socket;  // default: .brood/brood.sock next to config
    load_options load;                            // at the start and at each reload
    bool log_to_stdout = false;                   // every program's log.to = "stdout"
    std::optional<listen_address> http;            // --http: over [http] listen
};

int run_supervisor(const up_options& options);

}  // namespace brood::supervisor
