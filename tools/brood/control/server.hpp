// The supervisor's end of the control socket: a unix stream socket that answers one JSON request
// per line, in order, and streams events to the connections that asked for them
// (docs/protocol.md). Runs inside the supervisor's monitor, never blocking it:
//
//   brood::control::server control(loop, ".brood/brood.sock", [&](const brood::control::request& r) {
//       if (r.verb == "status") return status_json();
//       throw brood::control::request_error("unknown program '" + r.targets.at(0) + "'");
//   });
//   control.publish({{"name", "web.0"}, {"from", "starting"}, {"to", "running"}});
//
// The handler runs on the monitor's thread and returns the reply's "result"; a request_error it
// throws becomes ok=false with its message. The server answers "events" itself (the handler never
// sees it) and refuses malformed, oversized and too frequent requests without calling it.
//
// Idle connections are closed on one of the loop's timers, added with timer_tag: the loop's owner
// hands the timer events that carry it to timer_fired() (the monitor has one event handler).
//
//   loop.on_event([&](const brood::monitor::event& e) {
//       if (e.from == brood::monitor::source::timer && e.tag == control_tag) control.timer_fired(e.timer);
//   });
//
// A request with verb "attach" that the handler accepts is answered, then its connection is handed
// to the takeover handler, which gets the socket, what of the reply the client has not taken yet,
// and what the client sent after the request: from then on the connection carries a terminal's
// bytes (docs/protocol.md, "attach"), and the server forgets it.
//
// Security: the socket is created mode 0600 and every connection's peer uid (SO_PEERCRED) must be
// ours or root's; others get one error line and are closed. A client that does not read what it is
// sent is dropped once 1 MiB waits for it; a request line over 64 KiB closes its connection; one
// that sends no whole request for idle_timeout (5 s) is closed, unless it follows events. When
// max_connections (64) are open, a new one takes the place of the connection idle the longest.
// Connections closed by the server get an error line with id 0 first, saying why.
//
// Not thread-safe: use it on the monitor's thread, and do not destroy it from its own handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

#include "control/limits.hpp"
#include "control/request.hpp"

namespace brood::control {

class server {
public:
    using handler = std::function<nlohmann::json(const request&)>;
    using takeover_handler = std::function<void(const request&, unique_fd socket, std::string unsent, std::string unread)>;

    // Listens at socket_path (creating its directory). Throws, naming the path, when a supervisor
    // answers there already, when the path is something other than a socket, or when it cannot
    // bind; a stale socket (nobody listening) is replaced.
    server(brood::monitor& loop, std::filesystem::path socket_path, handler h, std::uint64_t timer_tag = 0,
           std::chrono::milliseconds idle = idle_timeout, takeover_handler takeover = {});
    // Closes every connection and unlinks the socket (unless another process replaced it since).
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Sends {"event":event} to every connection that sent "events".
    void publish(const nlohmann::json& event);
    // A connection follows the events: publish has someone to send to.
    bool has_subscribers() const;
    // A timer event of the loop that carried timer_tag: closes the connections idle too long.
    void timer_fired(brood::monitor::timer_id id);
    const std::filesystem::path& path() const { return path_; }
    // Connections open now.
    std::size_t connections() const { return connections_.size(); }

private:
    struct connection;

    void accept_pending();
    void accept_one(unique_fd client);
    void on_connection(int fd, std::uint32_t revents);
    void read_requests(connection& c);
    void serve(connection& c, std::string_view line);
    void hand_over(connection& c, const request& r);
    void send(connection& c, std::string_view bytes);
    void flush(connection& c);
    void watch_for(connection& c);
    void close_finished();
    void close_idle(connection& c, std::string_view why);
    connection* idle_the_longest();
    void arm_idle_timer();

    brood::monitor& loop_;
    std::filesystem::path path_;
    handler handler_;
    takeover_handler takeover_;
    unique_fd listener_;
    unique_fd spare_;  // given up to accept-and-close a client when out of fds
    dev_t socket_device_ = 0;
    ino_t socket_inode_ = 0;
    std::uint64_t timer_tag_;
    std::chrono::milliseconds idle_;
    brood::monitor::timer_id idle_timer_ = brood::monitor::timer_id::none;
    std::map<int, std::unique_ptr<connection>> connections_;
    int serving_ = 0;  // > 0 while a callback runs: connections are closed after it, not under it
};

}  // namespace brood::control
