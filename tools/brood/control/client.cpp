#include "control/client.hpp"

#include <cerrno>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "control/limits.hpp"
#include "control/reply.hpp"
#include "control/unix_address.hpp"

namespace brood::control {
namespace {

// Replies (a status of many instances) may be longer than requests; still bounded.
constexpr std::size_t max_reply_line = 64 * max_line;

}  // namespace

no_supervisor::no_supervisor(const std::filesystem::path& socket, int error)
    : std::runtime_error("no supervisor running at " + socket.string() + " (" + errno_name(error) + ")"), error(error) {}

client::client(const std::filesystem::path& socket) : input_(max_reply_line) {
    const unix_address address = unix_address_of(socket);
    fd_ = unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) throw_errno(errno, "socket");
    while (::connect(fd_.get(), address.get(), address.length) != 0)
        if (errno != EINTR) throw no_supervisor(socket, errno);
}

nlohmann::json client::call(std::string verb, std::vector<std::string> targets, int signal,
                            const std::function<void(const nlohmann::json&)>& on_event) {
    request r;
    r.verb = std::move(verb);
    r.targets = std::move(targets);
    r.signal = signal;
    return call(std::move(r), on_event);
}

client::raw_connection client::release() {
    return {std::move(fd_), input_.take_rest()};
}

nlohmann::json client::call(request r, const std::function<void(const nlohmann::json&)>& on_event) {
    r.id = next_id_++;
    const std::string line = request_line(r);
    for (std::size_t sent = 0; sent < line.size();) {
        const ssize_t n = ::send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;  // closed already: it may have said why
        if (n < 0) throw_errno(errno, "sending a request to the supervisor");
        sent += static_cast<std::size_t>(n);
    }
    // Events may arrive before the reply when this connection follows them already; skip those.
    while (auto text = read_line()) {
        const reply answer = parse_reply(*text);
        if (answer.event) {
            if (on_event) on_event(*answer.event);
            continue;
        }
        // Id 0 answers no request of ours: the supervisor closes the connection, and says why.
        if (answer.id == 0 && !answer.ok) throw request_error(answer.error);
        if (answer.id != r.id)
            throw std::runtime_error("the supervisor answered request " + std::to_string(answer.id) + " instead of " +
                                     std::to_string(r.id));
        if (!answer.ok) throw request_error(answer.error);
        return answer.result;
    }
    throw std::runtime_error("the supervisor closed the connection without replying");
}

std::optional<nlohmann::json> client::next_event() {
    bool timed_out = false;
    return next_event(std::chrono::steady_clock::time_point::max(), timed_out);
}

std::optional<nlohmann::json> client::next_event(std::chrono::steady_clock::time_point until, bool& timed_out) {
    timed_out = false;
    const bool bounded = until != std::chrono::steady_clock::time_point::max();
    while (auto text = read_line(bounded ? &until : nullptr, &timed_out)) {
        reply answer = parse_reply(*text);
        if (answer.event) return std::move(*answer.event);
        if (!answer.ok) throw request_error(answer.error);
    }
    return std::nullopt;
}

std::optional<std::string> client::read_line(const std::chrono::steady_clock::time_point* until, bool* timed_out) {
    while (true) {
        if (input_.overflowed()) throw std::runtime_error("the supervisor sent a line too long to be a reply");
        if (auto line = input_.next_line()) return line;
        if (until != nullptr) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - std::chrono::steady_clock::now());
            pollfd readable{fd_.get(), POLLIN, 0};
            const int n = left.count() <= 0 ? 0 : ::poll(&readable, 1, static_cast<int>(left.count()));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno(errno, "waiting for the supervisor");
            if (n == 0) {
                *timed_out = true;
                return std::nullopt;
            }
        }
        char buffer[16 * 1024];
        const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ECONNRESET) return std::nullopt;  // it closed with our bytes unread
        if (n < 0) throw_errno(errno, "reading from the supervisor");
        if (n == 0) return std::nullopt;
        input_.append(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
}

}  // namespace brood::control
