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

#include "supervisor/problem.hpp"

namespace brood::supervisor {

// Whether an instance that ended by itself is started again.
enum class restart_policy : std::uint8_t {
    always,      // whatever the exit status
    on_failure,  // unless it exited with code 0
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

struct dependency {
    std::string name;
    position where;  // of the name in depends_on
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
    std::map<std::string, std::string> environment;  // on top of brood's own environment
    bool autostart = true;
    restart_policy restart = restart_policy::on_failure;
    backoff_config backoff;
    start_limit_config start_limit;
    std::chrono::milliseconds start_seconds{std::chrono::seconds(1)};  // up this long: started
    ready_check ready = ready_check::started;
    std::vector<dependency> depends_on;  // started once these are ready, stopped before them
    int stop_signal = SIGTERM;           // then SIGCONT, then SIGKILL to the group after stop_timeout
    std::chrono::milliseconds stop_timeout{std::chrono::seconds(10)};
    log_config log;
    bool essential = false;  // when it ends for good, everything stops and brood up exits with its code
    position where;          // of its table, or of its Procfile line
    friend bool operator==(const program_config&, const program_config&) = default;
};

struct loaded_config {
    std::vector<program_config> programs;  // in file order
    std::vector<problem> problems;         // in file order; when not empty, start nothing
    // The whole ordered shutdown's budget (top-level shutdown_timeout): past it, everything left gets
    // SIGKILL and brood up exits 124. None: each program only has its own stop_timeout.
    std::optional<std::chrono::milliseconds> shutdown_timeout;
};

// brood.toml in directory, else Procfile there; nullopt when there is neither.
std::optional<std::filesystem::path> find_config(const std::filesystem::path& directory);

// Reads and checks file: TOML when its name ends in ".toml", a Procfile otherwise. Relative program
// directories are taken from the file's directory, as is the directory of a program without one.
loaded_config load_config(const std::filesystem::path& file);

}  // namespace brood::supervisor
