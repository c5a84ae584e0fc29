// The supervisor's configuration: one program_config per program of brood.toml or of a Procfile.
// Plain data; every default below is the one docs/config.md documents.
//
//   auto loaded = brood::supervisor::load_config(*brood::supervisor::find_config("."));
//   for (const auto& p : loaded.problems) std::cerr << to_string(p) << '\n';   // then exit 2
//   for (const auto& program : loaded.programs) ...                            // in file order
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/types.h>

#include "supervisor/cgroup_limits.hpp"
#include "supervisor/listen_address.hpp"
#include "supervisor/problem.hpp"
#include "supervisor/resource_limits.hpp"

namespace brood::supervisor {

// Whether an instance that ended by itself is started again.
enum class restart_policy : std::uint8_t {
    always,      // whatever the exit status
    on_failure,  // unless it exited with a success code (success_exit_codes)
    never,
};

// When an instance counts as ready, so that programs depending on it may start.
enum class ready_check : std::uint8_t {
    started,  // once it has stayed up for start_seconds
    tcp,      // once 127.0.0.1:PORT (its own port) accepts a connection
    notify,   // once it sends READY=1 to $NOTIFY_SOCKET, as systemd's sd_notify does
};

// Delays between restarts: initial, doubled after each failed start, capped at max, each shortened
// at random by up to jitter × delay (so programs that fail together do not restart in lockstep).
struct backoff_config {
    std::chrono::milliseconds initial{std::chrono::seconds(1)};
    std::chrono::milliseconds max{std::chrono::minutes(1)};
    double jitter = 0.2;  // 0 to 1
    friend bool operator==(const backoff_config&, const backoff_config&) = default;
};

// A program started `burst` times within `interval` of its own running time becomes fatal. Time
// spent waiting in backoff does not count, so a growing backoff cannot hide a crash loop.
struct start_limit_config {
    unsigned burst = 5;
    std::chrono::milliseconds interval{std::chrono::seconds(10)};
    friend bool operator==(const start_limit_config&, const start_limit_config&) = default;
};

enum class log_format { plain, json };
enum class log_destination { file, standard_output };

struct log_config {
    // The smallest max_size other than 0: the longest line output_relay holds whole before passing
    // it on, as a smaller file could not take one such line.
    static constexpr std::uint64_t smallest_max_size = 64 * 1024;
    std::uint64_t max_size = 10 * 1024 * 1024;  // bytes before the log is rotated; 0: never rotated
    unsigned keep = 5;                          // rotated files kept
    bool timestamps = false;  // plain format: each line starts with the time brood read it, and its stream
    log_format format = log_format::plain;
    log_destination to = log_destination::file;  // standard_output: brood's own, and no file
    friend bool operator==(const log_config&, const log_config&) = default;
};

// What a dependant waits for in each instance of the program it depends on.
enum class dependency_condition : std::uint8_t {
    started,                 // spawned and not ended: starting, running, ready (or paused)
    ready,                   // ready (the array form of depends_on)
    completed_successfully,  // ended by itself with a success code, not to be restarted: completed
    healthy,                 // its health check passed last (a program without one is refused at load)
};

// A liveness check of each running instance (health table): is it still doing its work?
enum class health_kind : std::uint8_t {
    exec,  // a command run in the instance's environment, cgroup and directory: exit 0 is healthy
    http,  // GET path on 127.0.0.1:PORT: a 2xx or 3xx answer is healthy
    tcp,   // 127.0.0.1:PORT accepts a connection
};

enum class unhealthy_action : std::uint8_t { restart, none };

struct health_config {
    health_kind kind = health_kind::exec;
    std::vector<std::string> argv;  // exec: as command's, {"/bin/sh", "-c", text} with shell = true
    std::string path;               // http: "/healthz"
    std::chrono::milliseconds interval{std::chrono::seconds(10)};  // from a start, and from each check's end
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};    // a check still running then has failed
    std::chrono::milliseconds start_period{0};  // failures from a start until then do not count, until a pass
    unsigned retries = 3;                       // failures in a row that make the instance unhealthy
    unhealthy_action on_unhealthy = unhealthy_action::restart;
    friend bool operator==(const health_config&, const health_config&) = default;
};

struct dependency {
    std::string name;
    position where;  // of the name in depends_on
    dependency_condition condition = dependency_condition::ready;
    friend bool operator==(const dependency&, const dependency&) = default;
};

struct program_config {
    std::string name;
    // What is executed: the command's words, or {"/bin/sh", "-c", command} when shell is true.
    std::vector<std::string> argv;
    bool shell = false;
    unsigned instances = 1;             // each told its index, from 0, in BROOD_INSTANCE
    std::optional<std::uint16_t> port;  // instance i gets PORT = port + i
    std::filesystem::path directory;    // working directory; load_config makes it absolute
    // On top of brood's own environment: the env files' variables, then the environment table's,
    // ${VAR} expanded.
    std::map<std::string, std::string> environment;
    bool autostart = true;
    restart_policy restart = restart_policy::on_failure;
    std::vector<int> success_exit_codes{0};  // exits that count as success (never a kill by a signal)
    backoff_config backoff;
    start_limit_config start_limit;
    std::chrono::milliseconds start_seconds{std::chrono::seconds(1)};  // up this long: started
    ready_check ready = ready_check::started;
    std::vector<dependency> depends_on;  // started once these are ready, stopped before them
    int stop_signal = SIGTERM;           // then SIGCONT, then SIGKILL to the group after stop_timeout
    std::chrono::milliseconds stop_timeout{std::chrono::seconds(10)};
    // WATCHDOG=1 expected on the notify socket at least this often, as systemd's WatchdogSec=; when
    // one is missed the instance gets watchdog_signal (then SIGKILL after stop_timeout) and restarts.
    std::optional<std::chrono::milliseconds> watchdog;
    int watchdog_signal = SIGABRT;
    std::optional<health_config> health;  // none: not checked once it runs
    log_config log;
    bool essential = false;  // when it ends for good, everything stops and brood up exits with its code
    // Runs on a pseudo-terminal of its own (its controlling terminal; stdin, stdout and stderr),
    // whose output is read into its log as stream "tty"; brood attach connects to it.
    bool tty = false;
    // Who it runs as, resolved when the configuration loads: group is the one given, else the
    // user's primary group; groups, the supplementary groups of the user (set only by root).
    std::optional<uid_t> user;
    std::optional<gid_t> group;
    std::vector<gid_t> groups;
    std::optional<mode_t> umask;
    std::vector<resource_limit> limits;  // setrlimit in the program, in the order of the limits table
    std::vector<cgroup_limit> cgroup_limits;  // written into each instance's cgroup before it starts
    position where;          // of its table, or of its Procfile line
    friend bool operator==(const program_config&, const program_config&) = default;
};

// [http]: brood up's HTTP endpoint (metrics, API, events, the web page); off without listen.
struct http_config {
    std::optional<listen_address> listen;
    // The POST verbs' bearer token, read from this file at start. None: brood makes a new one at
    // each start in .brood/http.token. Required when listen is not a loopback address.
    std::optional<std::filesystem::path> token_file;
};

struct loaded_config {
    std::vector<program_config> programs;  // in file order
    std::vector<problem> problems;         // in file order; when not empty, start nothing
    // The whole ordered shutdown's budget (top-level shutdown_timeout): past it, everything left gets
    // SIGKILL and brood up exits 124. None: each program only has its own stop_timeout.
    std::optional<std::chrono::milliseconds> shutdown_timeout;
    // exit_when = "all-completed": brood up ends once every program has completed (0), or with the
    // first failure's code; for a set of jobs run as a pipeline.
    bool exit_when_all_completed = false;
    http_config http;  // read at start; a reload keeps what brood up started with
};

// brood.toml in directory, else Procfile there; nullopt when there is neither.
std::optional<std::filesystem::path> find_config(const std::filesystem::path& directory);

struct load_options {
    // A Procfile's programs get the variables of this file (brood up --env), else of the .env
    // beside the Procfile when there is one. brood.toml names its env files itself.
    std::optional<std::filesystem::path> env_file;
};

// Reads and checks file: TOML when its name ends in ".toml", a Procfile otherwise. Relative program
// directories are taken from the file's directory, as is the directory of a program without one.
// ${VAR} is expanded from brood's environment (environ) and the env files.
loaded_config load_config(const std::filesystem::path& file, const load_options& options = {});

}  // namespace brood::supervisor
