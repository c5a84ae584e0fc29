// brood top: a full-screen view of a running brood up over its control socket. One connection
// follows the events (rows change as they come) and carries the requests the keys make; CPU and
// memory are sampled from /proc once a second. One thread, one poll() over the connection, the
// terminal and a signalfd, with the next sample as its timeout.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/core.h>

#include <brood/error.hpp>

#include "common/exit_codes.hpp"
#include "common/signal_inbox.hpp"
#include "control/client.hpp"
#include "subcommands.hpp"
#include "top/instance_rows.hpp"
#include "top/process_sampler.hpp"
#include "top/terminal.hpp"
#include "top/top_view.hpp"
#include "verbs/control_socket.hpp"

namespace brood::cli {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto sample_interval = std::chrono::seconds(1);
// A log open is followed as brood logs -f follows it.
constexpr auto log_interval = std::chrono::milliseconds(200);
// How long reading the events waits for more once those read are used up: they come in bursts.
constexpr auto event_lull = std::chrono::milliseconds(1);

struct top_arguments {
    std::string config;
    std::string socket;
};

// no-color.org: set and not empty.
bool colours_wanted() {
    const char* no_color = std::getenv("NO_COLOR");
    return no_color == nullptr || *no_color == '\0';
}

// How top ended: the code it exits with, and what it says once the terminal is back to normal.
struct ending {
    int code;
    std::string message;
};

// Applies every event read (and waiting) on the connection; nullopt while it is open.
std::optional<ending> read_events(control::client& supervisor, instance_rows& rows, const std::string& socket) {
    bool timed_out = false;
    while (auto event = supervisor.next_event(clock_type::now() + event_lull, timed_out)) rows.apply(*event);
    if (timed_out) return std::nullopt;
    return ending{exit_failure, "brood: the supervisor closed the connection: brood up at " + socket + " has ended"};
}

ending run_view(control::client& supervisor, const std::string& socket) {
    supervisor.call("events");
    // Events that come before the status's reply happened before it: the status has them.
    const nlohmann::json status = supervisor.call("status");
    instance_rows rows(status);
    process_sampler sampler;

    sigset_t signals;
    ::sigemptyset(&signals);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) ::sigaddset(&signals, sig);
    // Blocked and read here: the handlers curses installs for SIGINT, SIGTERM and SIGWINCH never
    // run, and top ends (the terminal restored) or redraws from its own loop. SIGTSTP stays curses'.
    signal_inbox inbox(signals);
    terminal screen(colours_wanted());
    top_view view(supervisor, rows, screen, fmt::format("brood top  {}  pid {}", status.value("config", ""),
                                                        status.value("pid", 0)));
    auto next_sample = clock_type::now();
    auto next_follow = clock_type::now();
    bool requested = true;
    while (true) {
        const auto now = clock_type::now();
        if (now >= next_sample) {
            sampler.sample(rows.all(), now);
            next_sample = now + sample_interval;
        }
        if (view.showing_log() && now >= next_follow) {
            view.follow_log();
            next_follow = now + log_interval;
        }
        view.draw();

        const auto due = view.showing_log() ? std::min(next_sample, next_follow) : next_sample;
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - clock_type::now());
        pollfd ready[] = {{supervisor.fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}, {inbox.fd(), POLLIN, 0}};
        if (::poll(ready, std::size(ready), static_cast<int>(std::max<long>(wait.count(), 0))) < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "poll");
        }
        if (ready[2].revents != 0)
            while (const auto received = inbox.next()) {
                if (received->signal != SIGWINCH) return {128 + received->signal, ""};
                screen.resize();
            }
        if (ready[1].revents & (POLLHUP | POLLERR)) return {exit_failure, "brood: the terminal went away"};
        if (ready[1].revents != 0)
            while (const auto key = screen.next_key())
                if (!view.key(*key)) return {0, ""};
        // A request (the status above, a key's) may have read events past its reply, which wait in
        // the client now, where poll() cannot see them: read after every request as after poll().
        if (ready[0].revents == 0 && ready[1].revents == 0 && !requested) continue;
        requested = false;
        while (true) {
            if (auto end = read_events(supervisor, rows, socket)) return *end;
            // A reload or scale may have added or removed instances, which events do not say.
            if (!rows.needs_snapshot()) break;
            rows.replace(supervisor.call("status", {}, 0, [&](const nlohmann::json& event) { rows.apply(event); }));
        }
    }
}

int run_top(const top_arguments& a) {
    const std::filesystem::path socket = control_socket(a.config, a.socket);
    if (socket.empty()) return exit_usage;
    ending end{exit_failure, ""};
    try {
        control::client supervisor(socket);
        end = run_view(supervisor, socket.string());
    } catch (const terminal_error& e) {
        end.message = fmt::format("brood: {}", e.what());
    } catch (const std::runtime_error& e) {  // no supervisor, the connection broke, a request refused
        end.message = fmt::format("brood: {}", e.what());
    }
    // The terminal is back to normal here: the message goes to the shell's screen, not curses'.
    if (!end.message.empty()) fmt::print(stderr, "{}\n", end.message);
    return end.code;
}

}  // namespace

subcommand add_top_command(CLI::App& brood) {
    auto a = std::make_shared<top_arguments>();
    CLI::App* top = brood.add_subcommand(
        "top", "Watch a running brood up full-screen: a row per instance with its state, pid, uptime, restarts, "
               "last exit, CPU and memory; keys start, stop, restart, pause and resume the selected one "
               "(? shows them), l shows its log");
    top->add_option("-c,--config", a->config,
                    "The supervisor's configuration, to find its socket beside it (default: brood.toml, else "
                    "Procfile, in the current directory)");
    top->add_option("--socket", a->socket, "The control socket (default: .brood/brood.sock beside the configuration)");
    return {top, [a] { return run_top(*a); }};
}

}  // namespace brood::cli
