// The client's end of the control socket: what the brood verbs (status, stop, logs ...) use.
//
//   brood::control::client supervisor(".brood/brood.sock");        // throws no_supervisor
//   nlohmann::json result = supervisor.call("stop", {"web"});       // or request_error
//   supervisor.call("events");
//   while (auto event = supervisor.next_event()) ...
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <brood/unique_fd.hpp>

#include "control/line_buffer.hpp"
#include "control/request.hpp"

namespace brood::control {

// Nothing answers at the socket: what() reads "no supervisor running at PATH (ENOENT)".
struct no_supervisor : std::runtime_error {
    no_supervisor(const std::filesystem::path& socket, int error);
    int error;
};

class client {
public:
    explicit client(const std::filesystem::path& socket);

    // Sends the request and waits for its reply: the result, or request_error with the
    // supervisor's error, its refusal of the connection included (too many connections, idle).
    // std::runtime_error when the connection breaks or the reply is garbled.
    // On a connection that follows events, those that arrive before the reply go to on_event (they
    // happened before the reply was sent), or are skipped without one.
    nlohmann::json call(std::string verb, std::vector<std::string> targets = {}, int signal = 0,
                        const std::function<void(const nlohmann::json&)>& on_event = {});
    // The same for any request (its id is the client's own): resize, with its rows and cols.
    nlohmann::json call(request r, const std::function<void(const nlohmann::json&)>& on_event = {});
    // After call("attach"): the socket, now a terminal's byte stream, and what came after the reply.
    struct raw_connection {
        unique_fd socket;
        std::string received;
    };
    raw_connection release();
    // After call("events"): the next event, waiting for it; nullopt once the supervisor
    // closes the connection.
    std::optional<nlohmann::json> next_event();
    // As next_event, but nullopt with timed_out set when nothing came by until.
    std::optional<nlohmann::json> next_event(std::chrono::steady_clock::time_point until, bool& timed_out);
    // The connection, for a caller's own poll(): readable when an event (or the end) has come.
    // Lines already read but not returned may wait in the client: read with next_event until it
    // times out before polling again.
    int fd() const noexcept { return fd_.get(); }

private:
    std::optional<std::string> read_line(const std::chrono::steady_clock::time_point* until = nullptr,
                                         bool* timed_out = nullptr);

    unique_fd fd_;
    line_buffer input_;
    std::uint64_t next_id_ = 1;
};

}  // namespace brood::control
