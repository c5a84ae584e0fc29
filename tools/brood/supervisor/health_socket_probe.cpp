#include "supervisor/health_socket_probe.hpp"

#include <array>
#include <cerrno>
#include <system_error>

#include <http_parser.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "supervisor/loopback_connect.hpp"

namespace brood::supervisor {

namespace {

// Read per advance(): the status line and headers of any sane answer fit; a larger answer is read
// on (the loop calls again) only until its headers end.
constexpr std::size_t answer_read_size = 16 * 1024;

std::string connect_failure(int error) {
    if (error == ECONNREFUSED) return "connection refused";
    return "connect: " + errno_name(error);
}

int stop_at_headers(http_parser* parser) {
    *static_cast<bool*>(parser->data) = true;
    http_parser_pause(parser, 1);  // nothing past the headers is needed
    return 0;
}

const http_parser_settings& http_settings() {
    static const http_parser_settings made = [] {
        http_parser_settings s{};
        http_parser_settings_init(&s);
        s.on_headers_complete = stop_at_headers;
        return s;
    }();
    return made;
}

}  // namespace

health_socket_probe::health_socket_probe(std::uint16_t port, std::optional<std::string> http_path)
    : http_path_(std::move(http_path)) {
    loopback_attempt attempt;
    try {
        attempt = connect_loopback(port);
    } catch (const std::system_error& error) {
        fail(error.what());
        return;
    }
    if (attempt.error != 0) {
        fail(connect_failure(attempt.error));
        return;
    }
    socket_ = std::move(attempt.socket);
    if (http_path_) {
        request_ = "GET " + *http_path_ + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                   "\r\nUser-Agent: brood\r\nAccept: */*\r\nConnection: close\r\n\r\n";
        parser_ = std::make_unique<http_parser>();
        http_parser_init(parser_.get(), HTTP_RESPONSE);
        parser_->data = &headers_done_;
    }
    connecting_ = !attempt.connected;
    if (!connecting_) connected();
}

health_socket_probe::~health_socket_probe() = default;

std::uint32_t health_socket_probe::events() const {
    return connecting_ || sent_ < request_.size() ? EPOLLOUT : EPOLLIN;
}

const std::optional<health_result>& health_socket_probe::advance() {
    if (result_) return result_;
    if (connecting_) {
        if (const int error = connect_result(socket_.get()); error != 0) {
            fail(connect_failure(error));
            return result_;
        }
        connecting_ = false;
        connected();
        return result_;
    }
    if (sent_ < request_.size()) send_request();
    else read_answer();
    return result_;
}

void health_socket_probe::connected() {
    if (!http_path_) {
        result_ = health_result{true, {}};
        return;
    }
    send_request();
}

void health_socket_probe::send_request() {
    const ssize_t n = ::send(socket_.get(), request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
    if (n >= 0) {
        sent_ += static_cast<std::size_t>(n);
    } else if (errno != EAGAIN && errno != EINTR) {
        fail("sending the request: " + errno_name(errno));
    }
}

void health_socket_probe::read_answer() {
    std::array<char, answer_read_size> buffer;
    const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) fail("reading the answer: " + errno_name(errno));
        return;
    }
    // At end of file the parser is told so (a zero-length execute) and says whether that was an error.
    http_parser_execute(parser_.get(), &http_settings(), buffer.data(), static_cast<std::size_t>(n));
    if (headers_done_) {
        const unsigned status = parser_->status_code;
        if (status >= 200 && status < 400) result_ = health_result{true, {}};
        else fail("HTTP " + std::to_string(status));
        return;
    }
    const auto error = HTTP_PARSER_ERRNO(parser_.get());
    if (error != HPE_OK) fail(std::string("not an HTTP answer: ") + http_errno_description(error));
    else if (n == 0) fail("connection closed before an answer");
}

void health_socket_probe::fail(std::string why) {
    result_ = health_result{false, std::move(why)};
}

}  // namespace brood::supervisor
