// One health check over the program's port, health.tcp or health.http, run on brood up's loop: it
// never waits. The owner watches fd() for events() and calls advance() when it is ready, until a
// result comes; the check's timeout is the owner's timer, and destroying the probe abandons it.
//
//   health_socket_probe probe(8080, "/healthz");
//   if (auto r = probe.result()) ...                 // known at once: refused
//   loop.add_fd(probe.fd(), probe.events(), [&](int, std::uint32_t) {
//       if (auto r = probe.advance()) ...            // else loop.modify_fd(probe.fd(), probe.events())
//   });
//
// HTTP: one "GET path HTTP/1.1" with "Connection: close", written here; the answer is read by
// http_parser (Debian's libhttp-parser) only up to the end of its headers, so an answer of any size
// costs one read buffer. A 2xx or 3xx status is healthy.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <brood/unique_fd.hpp>

struct http_parser;

namespace brood::supervisor {

struct health_result {
    bool healthy = false;
    std::string why;  // of a failure: "connection refused", "HTTP 503", "connection closed before an answer"
};

class health_socket_probe {
public:
    // http_path: GET it once connected; none (tcp): the connection is the check.
    health_socket_probe(std::uint16_t port, std::optional<std::string> http_path);
    ~health_socket_probe();
    health_socket_probe(const health_socket_probe&) = delete;
    health_socket_probe& operator=(const health_socket_probe&) = delete;

    // The result known without waiting (refused, connected for tcp, no socket to be had); none
    // while there is something to wait for.
    const std::optional<health_result>& result() const { return result_; }
    int fd() const { return socket_.get(); }
    // EPOLLOUT while connecting or writing the request, EPOLLIN while reading the answer.
    std::uint32_t events() const;
    // fd() is ready: goes as far as it can without blocking.
    const std::optional<health_result>& advance();

private:
    void connected();
    void send_request();
    void read_answer();
    void fail(std::string why);

    unique_fd socket_;
    std::optional<std::string> http_path_;
    bool connecting_ = false;
    std::string request_;
    std::size_t sent_ = 0;
    std::unique_ptr<http_parser> parser_;
    bool headers_done_ = false;  // set by the parser's on_headers_complete
    std::optional<health_result> result_;
};

}  // namespace brood::supervisor
