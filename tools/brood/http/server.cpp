#include "http/server.hpp"

#include <algorithm>
#include <cerrno>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "control/accept_pending.hpp"
#include "control/outbox.hpp"
#include "http/bearer_token.hpp"
#include "http/limits.hpp"
#include "http/page.hpp"
#include "http/request_parser.hpp"
#include "http/response.hpp"
#include "http/route.hpp"

namespace brood::http {
namespace {

using nlohmann::json;

// Read at most this much from one connection per wake-up, so one client cannot keep the loop
// from the others (epoll is level-triggered: the rest is read on the next turn).
constexpr std::size_t read_chunk = 16 * 1024;
constexpr int listen_backlog = 64;

std::string named(const supervisor::listen_address& where, std::string_view what) {
    return "http " + where.text + ": " + std::string(what);
}

// "127.0.0.1:9180" or "[::1]:9180", as the socket is bound (port 0 becomes the kernel's choice).
std::string bound_address(int fd, const supervisor::listen_address& where) {
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) throw_errno(errno, named(where, "getsockname"));
    char text[INET6_ADDRSTRLEN] = {};
    if (bound.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(bound);
        ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(bound);
    ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
}

const control::request status_request{.id = 0, .verb = "status", .targets = {}, .signal = 0};

std::string json_text(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

struct server::connection {
    enum class phase {
        reading,    // the request, until request_timeout from the connection's start
        answering,  // the answer, until request_timeout from the request's end; then closed
        streaming,  // /api/v1/events: no deadline, a bounded backlog
    };
    explicit connection(unique_fd socket) : fd(std::move(socket)) {}

    unique_fd fd;
    request_parser parser{max_request};
    phase stage = phase::reading;
    control::outbox output;
    bool input_ended = false;  // the client has shut down its side: nothing more to read
    bool output_shut = false;  // the answer is out and our side is shut down
    bool finished = false;     // close it as soon as no callback is running
    std::uint32_t watched = EPOLLIN;
    brood::monitor::clock::time_point deadline = brood::monitor::clock::now() + request_timeout;
};

server::server(brood::monitor& loop, const supervisor::listen_address& where, std::string token, handler h,
               metrics_source figures, std::uint64_t timer_tag)
    : loop_(loop), token_(std::move(token)), handler_(std::move(h)), figures_(std::move(figures)),
      timer_tag_(timer_tag) {
    listener_ = unique_fd(::socket(where.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_) throw_errno(errno, named(where, "socket"));
    // A restarted brood may bind at once, while the connections of the last one are in TIME_WAIT.
    const int on = 1;
    if (::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
        throw_errno(errno, named(where, "SO_REUSEADDR"));
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&where.address), where.length) != 0)
        throw_errno(errno, named(where, "bind"));
    if (::listen(listener_.get(), listen_backlog) != 0) throw_errno(errno, named(where, "listen"));
    address_ = bound_address(listener_.get(), where);
    spare_ = unique_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    loop_.add_fd(listener_.get(), EPOLLIN, [this](int, std::uint32_t) { accept_pending(); });
}

server::~server() {
    if (timer_ != brood::monitor::timer_id::none) loop_.cancel_timer(timer_);
    for (auto& [fd, c] : connections_) loop_.remove_fd(fd);
    connections_.clear();
    loop_.remove_fd(listener_.get());
}

bool server::has_event_streams() const {
    return std::any_of(connections_.begin(), connections_.end(), [](const auto& entry) {
        return entry.second->stage == connection::phase::streaming && !entry.second->finished;
    });
}

void server::publish(const json& event) {
    ++counters_.events;
    std::string message;
    ++serving_;
    for (auto& [fd, c] : connections_) {
        if (c->stage != connection::phase::streaming || c->finished) continue;
        if (message.empty()) message = event_message(event.dump(-1, ' ', false, json::error_handler_t::replace));
        if (c->output.pending() + message.size() > max_event_backlog) {
            // It does not read its events: drop it rather than grow or wait.
            ++counters_.event_clients_dropped;
            c->finished = true;
            continue;
        }
        send(*c, message);
    }
    --serving_;
    close_finished();
}

void server::accept_pending() {
    ++serving_;
    control::accept_pending(listener_.get(), spare_, [this](unique_fd client) { accept_one(std::move(client)); });
    --serving_;
    close_finished();
}

void server::accept_one(unique_fd client) {
    const std::size_t open = std::count_if(connections_.begin(), connections_.end(),
                                           [](const auto& entry) { return !entry.second->finished; });
    if (open >= max_connections) {
        ++counters_.connections_refused;
        ++counters_.requests[503];
        const std::string refusal = error_response(
            503, "too many connections (at most " + std::to_string(max_connections) + "); try again later",
            "Retry-After: 1\r\n");
        [[maybe_unused]] const ssize_t n = ::send(client.get(), refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        return;
    }
    const int fd = client.get();
    loop_.add_fd(fd, EPOLLIN, [this](int ready, std::uint32_t revents) { on_connection(ready, revents); });
    connections_.emplace(fd, std::make_unique<connection>(std::move(client)));
    arm_timer();
}

void server::on_connection(int fd, std::uint32_t revents) {
    const auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    connection& c = *it->second;
    ++serving_;
    if (revents & EPOLLERR) c.finished = true;
    if (!c.finished && (revents & EPOLLOUT)) flush(c);
    if (!c.finished && !c.input_ended && (revents & (EPOLLIN | EPOLLHUP))) read_request(c);
    if (revents & EPOLLHUP) c.finished = true;  // hung up both ways: nothing more can be written either
    if (!c.finished) watch_for(c);
    --serving_;
    close_finished();
}

// Reads the request; once it is answered, reads on only to drop what the client still sends, so
// that closing does not reset the connection (and lose the answer) over unread bytes.
void server::read_request(connection& c) {
    char buffer[read_chunk];
    const ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) c.finished = true;
        return;
    }
    if (n == 0) {
        c.input_ended = true;
        // A request cut short gets no answer; an event stream's client has gone; an answer is done.
        if (c.stage != connection::phase::answering || c.output_shut) c.finished = true;
        return;
    }
    if (c.stage != connection::phase::reading) return;
    switch (c.parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)))) {
        case request_parser::result::incomplete: return;
        case request_parser::result::complete: return answer(c);
        case request_parser::result::bad: return reply(c, 400, error_response(400, "bad request: " + c.parser.error()));
        case request_parser::result::too_large:
            return reply(c, 413, error_response(413, "request larger than " + std::to_string(max_request) + " bytes"));
    }
}

void server::answer(connection& c) {
    const request& r = c.parser.value();
    const route found = route_of(r.method, r.path);
    try {
        switch (found.what) {
            case route::kind::page:
                return reply(c, 200, response(200, "text/html; charset=utf-8", index_page));
            case route::kind::metrics: {
                const std::vector<supervisor::instance_figures> instances = figures_();
                const auto self = proc::read_stat(::getpid());
                counters_.memory_bytes = self ? self->rss_bytes : 0;
                return reply(c, 200, response(200, "text/plain; version=0.0.4; charset=utf-8",
                                              prometheus_text(instances, counters_)));
            }
            case route::kind::status:
                return reply(c, 200, response(200, "application/json", json_text(handler_(status_request))));
            case route::kind::events: {
                // The kernel would grow the socket's buffer to megabytes for a client that does not
                // read, out of sight of max_event_backlog: it is held to a fixed size instead.
                const int buffer = static_cast<int>(event_socket_buffer);
                ::setsockopt(c.fd.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
                ++counters_.requests[200];
                ++counters_.event_clients;
                c.stage = connection::phase::streaming;
                return send(c, event_stream_head());
            }
            case route::kind::act: {
                int code = 200;
                std::string body = answer_action(c, found.target, found.verb, code);
                return reply(c, code, std::move(body));
            }
            case route::kind::wrong_method:
                return reply(c, 405, error_response(405, r.method + " is not allowed here; use " + found.allow,
                                                    "Allow: " + found.allow + "\r\n"));
            case route::kind::not_found:
                return reply(c, 404, error_response(404, "no such resource: " + r.path));
        }
    } catch (const std::exception& failed) {
        return reply(c, 500, error_response(500, std::string("internal error: ") + failed.what()));
    }
}

std::string server::answer_action(const connection& c, const std::string& target, const std::string& verb, int& code) {
    if (!token_matches(c.parser.value().authorization, token_)) {
        code = 401;
        return error_response(401, "this needs the header Authorization: Bearer TOKEN, with the token of .brood/http.token "
                                   "or of [http] token_file",
                              "WWW-Authenticate: Bearer realm=\"brood\"\r\n");
    }
    try {
        return response(200, "application/json", json_text(handler_(control::request{.id = 0, .verb = verb, .targets = {target}, .signal = 0})));
    } catch (const control::request_error& refused) {
        code = 400;
        return error_response(400, refused.what());
    }
}

// Sends a whole answer; the connection closes once it is out.
void server::reply(connection& c, int code, std::string bytes) {
    ++counters_.requests[code];
    c.stage = connection::phase::answering;
    c.deadline = brood::monitor::clock::now() + request_timeout;
    send(c, std::move(bytes));
}

void server::send(connection& c, std::string bytes) {
    if (c.finished) return;
    c.output.append(std::move(bytes));
    flush(c);
    if (!c.finished) watch_for(c);
}

void server::flush(connection& c) {
    const control::outbox::result sent = c.output.flush(c.fd.get());
    if (sent == control::outbox::result::gone) c.finished = true;
    if (sent == control::outbox::result::sent && c.stage == connection::phase::answering && !c.output_shut) {
        // The answer is out: say so (FIN), and close once the client has closed its side too.
        c.output_shut = true;
        ::shutdown(c.fd.get(), SHUT_WR);
        if (c.input_ended) c.finished = true;
    }
}

void server::watch_for(connection& c) {
    const std::uint32_t wanted = (c.input_ended ? 0u : EPOLLIN) | (c.output.pending() > 0 ? EPOLLOUT : 0u);
    if (wanted == c.watched) return;
    loop_.modify_fd(c.fd.get(), wanted);
    c.watched = wanted;
}

void server::timer_fired(brood::monitor::timer_id id) {
    if (id != timer_) return;  // one this server no longer waits for
    timer_ = brood::monitor::timer_id::none;
    ++serving_;
    const auto now = brood::monitor::clock::now();
    for (auto& [fd, c] : connections_) {
        if (c->finished || c->stage == connection::phase::streaming || now < c->deadline) continue;
        if (c->stage == connection::phase::reading) {
            // Too slow to send its request: say so if the socket takes it at once, then close.
            ++counters_.requests[408];
            const std::string said = error_response(408, "no whole request within " +
                                                              std::to_string(request_timeout.count()) + " s");
            [[maybe_unused]] const ssize_t n = ::send(c->fd.get(), said.data(), said.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        c->finished = true;
    }
    --serving_;
    close_finished();
    arm_timer();
}

// One timer at a time, for the earliest deadline; none while nothing waits.
void server::arm_timer() {
    if (timer_ != brood::monitor::timer_id::none) return;
    const connection* first = nullptr;
    for (const auto& [fd, c] : connections_)
        if (!c->finished && c->stage != connection::phase::streaming && (first == nullptr || c->deadline < first->deadline))
            first = c.get();
    if (first != nullptr) timer_ = loop_.add_timer(first->deadline, timer_tag_);
}

void server::close_finished() {
    if (serving_ > 0) return;
    std::erase_if(connections_, [this](const auto& entry) {
        if (!entry.second->finished) return false;
        if (entry.second->stage == connection::phase::streaming) --counters_.event_clients;
        loop_.remove_fd(entry.first);
        return true;
    });
    // Nobody left to time out: no wake-up for a timer that would find nothing to do.
    const bool waiting = std::any_of(connections_.begin(), connections_.end(),
                                     [](const auto& entry) { return entry.second->stage != connection::phase::streaming; });
    if (!waiting && timer_ != brood::monitor::timer_id::none) {
        loop_.cancel_timer(timer_);
        timer_ = brood::monitor::timer_id::none;
    }
}

}  // namespace brood::http
