// brood up's HTTP endpoint (docs/protocol.md, "HTTP"): metrics, status, events, the control verbs
// and the web page, served from the supervisor's own monitor with non-blocking sockets, no thread:
//
//   brood::http::server web(loop, address, token, [&](const brood::control::request& r) { return serve(r); },
//                           [&] { return figures_of_every_instance(); }, http_tag);
//   web.publish(event);                        // to every client of /api/v1/events
//   loop.on_event([&](const brood::monitor::event& e) {
//       if (e.from == brood::monitor::source::timer && e.tag == http_tag) web.timer_fired(e.timer);
//   });
//
// The handler is the control socket's: status and the verbs answer here exactly as there, and a
// request_error it throws becomes 400 with its message. /metrics is rendered from the figures the
// metrics source gives, the same that status reports (supervisor/instance_figures.hpp). Each
// connection carries one request, then is closed (Connection: close); /api/v1/events keeps it open
// for the events that follow.
//
// Limits (http/limits.hpp): max_connections open at once (one more gets 503), max_request bytes of
// a request (413), request_timeout to send it and again to take the answer (408, then closed), and
// max_event_backlog of events waiting for a client that does not read them (dropped). While nobody
// is connected, the listening socket is all the loop watches: no timer, no wake-up.
//
// Not thread-safe: use it on the monitor's thread, and do not destroy it from its own handler.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

#include "control/request.hpp"
#include "http/metrics.hpp"
#include "supervisor/listen_address.hpp"

namespace brood::http {

class server {
public:
    using handler = std::function<nlohmann::json(const control::request&)>;
    using metrics_source = std::function<std::vector<supervisor::instance_figures>()>;

    // Listens at where; throws naming the address when it cannot (EADDRINUSE ...).
    server(brood::monitor& loop, const supervisor::listen_address& where, std::string token, handler h,
           metrics_source figures, std::uint64_t timer_tag);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Sends event to every client of /api/v1/events, and counts it (brood_events_total).
    void publish(const nlohmann::json& event);
    // A client follows /api/v1/events: publish has someone to send to.
    bool has_event_streams() const;
    // Counts an event that nobody follows, made by nobody, as publish would have.
    void count_event() { ++counters_.events; }
    // A timer event of the loop that carried timer_tag: closes the connections past their time.
    void timer_fired(brood::monitor::timer_id id);
    // Where it listens, the port the kernel chose included: "127.0.0.1:9180", "[::1]:9180".
    const std::string& address() const { return address_; }

private:
    struct connection;

    void accept_pending();
    void accept_one(unique_fd client);
    void on_connection(int fd, std::uint32_t revents);
    void read_request(connection& c);
    void answer(connection& c);
    std::string answer_action(const connection& c, const std::string& target, const std::string& verb, int& code);
    void reply(connection& c, int code, std::string bytes);
    void send(connection& c, std::string bytes);
    void flush(connection& c);
    void watch_for(connection& c);
    void close_finished();
    void arm_timer();

    brood::monitor& loop_;
    std::string token_;
    handler handler_;
    metrics_source figures_;
    unique_fd listener_;
    unique_fd spare_;  // given up to accept-and-close a client when out of fds
    std::string address_;
    std::uint64_t timer_tag_;
    brood::monitor::timer_id timer_ = brood::monitor::timer_id::none;
    std::map<int, std::unique_ptr<connection>> connections_;
    server_counters counters_;
    int serving_ = 0;  // > 0 while a callback runs: connections are closed after it, not under it
};

}  // namespace brood::http
