#include "control/server.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "control/accept_pending.hpp"
#include "control/limits.hpp"
#include "control/line_buffer.hpp"
#include "control/outbox.hpp"
#include "control/rate_limit.hpp"
#include "control/reply.hpp"
#include "control/unix_address.hpp"

namespace brood::control {
namespace {

// Read at most this much from one connection per wake-up, so a flood from one client cannot keep
// the loop from the others (epoll is level-triggered: the rest is read on the next turn).
constexpr std::size_t read_chunk = 16 * 1024;
constexpr int listen_backlog = 64;

std::string named(const std::filesystem::path& path, std::string_view what) {
    return "control socket " + path.string() + ": " + std::string(what);
}

// A socket at path that nobody answers is left over from a supervisor that died: remove it. A live
// one, or anything that is not a socket, is not ours to replace.
void clear_stale_socket(const std::filesystem::path& path, const unix_address& address) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        if (errno == ENOENT) return;
        throw_errno(errno, named(path, "lstat"));
    }
    if (!S_ISSOCK(info.st_mode))
        throw std::runtime_error(named(path, "exists and is not a socket; not replacing it"));
    const unique_fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe) throw_errno(errno, named(path, "socket"));
    if (::connect(probe.get(), address.get(), address.length) == 0)
        throw std::runtime_error(named(path, "a supervisor is running there already"));
    if (errno != ECONNREFUSED) throw_errno(errno, named(path, "connect to check for a running supervisor"));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno(errno, named(path, "unlink stale socket"));
}

// The kernel creates the socket file with the socket inode's mode minus the umask; fchmod before
// bind makes that 0600 whatever the process umask (which is process-wide, so not ours to change).
unique_fd bound_socket(const std::filesystem::path& path, const unix_address& address) {
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno(errno, named(path, "socket"));
    if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) throw_errno(errno, named(path, "fchmod 0600"));
    if (::bind(fd.get(), address.get(), address.length) != 0) throw_errno(errno, named(path, "bind"));
    return fd;
}

}  // namespace

struct server::connection {
    explicit connection(unique_fd socket) : fd(std::move(socket)) {}
    // Subject to the idle timeout: open, and not following events.
    bool may_idle() const { return !subscribed && !finished; }

    unique_fd fd;
    line_buffer input{max_line};
    outbox output;
    rate_limit budget{request_burst, requests_per_second};
    std::uint32_t watched = EPOLLIN;
    bool subscribed = false;  // sent "events"
    bool reading = true;      // false after EOF or an oversized line: flush the replies, then close
    bool finished = false;    // close it as soon as no callback is running
    bool handed_over = false; // its socket belongs to the takeover handler now (attach)
    brood::monitor::clock::time_point last_request = brood::monitor::clock::now();  // or when it connected
};

server::server(brood::monitor& loop, std::filesystem::path socket_path, handler h, std::uint64_t timer_tag,
               std::chrono::milliseconds idle, takeover_handler takeover)
    : loop_(loop),
      path_(std::move(socket_path)),
      handler_(std::move(h)),
      takeover_(std::move(takeover)),
      timer_tag_(timer_tag),
      idle_(idle) {
    const unix_address address = unix_address_of(path_);
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
    clear_stale_socket(path_, address);
    listener_ = bound_socket(path_, address);
    try {
        struct stat info {};
        if (::lstat(path_.c_str(), &info) != 0) throw_errno(errno, named(path_, "lstat after bind"));
        if ((info.st_mode & 0777) != 0600)
            throw std::runtime_error(named(path_, "was created with mode " + std::to_string(info.st_mode & 0777) +
                                                      " (octal wanted: 600)"));
        socket_device_ = info.st_dev;
        socket_inode_ = info.st_ino;
        if (::listen(listener_.get(), listen_backlog) != 0) throw_errno(errno, named(path_, "listen"));
        spare_ = unique_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        loop_.add_fd(listener_.get(), EPOLLIN, [this](int, std::uint32_t) { accept_pending(); });
    } catch (...) {
        ::unlink(path_.c_str());
        throw;
    }
}

server::~server() {
    if (idle_timer_ != brood::monitor::timer_id::none) loop_.cancel_timer(idle_timer_);
    for (auto& [fd, c] : connections_) loop_.remove_fd(fd);
    connections_.clear();
    loop_.remove_fd(listener_.get());
    struct stat info {};
    if (::lstat(path_.c_str(), &info) == 0 && info.st_dev == socket_device_ && info.st_ino == socket_inode_)
        ::unlink(path_.c_str());
}

void server::publish(const nlohmann::json& event) {
    ++serving_;
    const std::string line = event_line(event);
    for (auto& [fd, c] : connections_)
        if (c->subscribed) send(*c, line);
    --serving_;
    close_finished();
}

bool server::has_subscribers() const {
    return std::any_of(connections_.begin(), connections_.end(),
                       [](const auto& entry) { return entry.second->subscribed && !entry.second->finished; });
}

void server::accept_pending() {
    ++serving_;
    control::accept_pending(listener_.get(), spare_, [this](unique_fd client) { accept_one(std::move(client)); });
    --serving_;
    close_finished();
}

void server::accept_one(unique_fd client) {
    auto refuse = [&](std::string_view why) {
        const std::string line = error_line(0, why);
        [[maybe_unused]] const ssize_t n = ::send(client.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    };
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0)
        return refuse("permission denied: cannot read the client's credentials");
    if (peer.uid != ::geteuid() && peer.uid != 0)
        return refuse("permission denied: uid " + std::to_string(peer.uid) + " may not control a supervisor of uid " +
                      std::to_string(::geteuid()));
    const std::size_t open = std::count_if(connections_.begin(), connections_.end(),
                                           [](const auto& entry) { return !entry.second->finished; });
    if (open >= max_connections) {
        // The owner can always get in: the place of a connection that is only waiting is given to it.
        connection* oldest = idle_the_longest();
        if (oldest == nullptr)
            return refuse("too many connections (at most " + std::to_string(max_connections) +
                          ", each following events)");
        close_idle(*oldest, "closing the connection idle the longest to make room for a new one (at most " +
                                std::to_string(max_connections) + " connections)");
    }
    const int fd = client.get();
    loop_.add_fd(fd, EPOLLIN, [this](int ready, std::uint32_t revents) { on_connection(ready, revents); });
    connections_.emplace(fd, std::make_unique<connection>(std::move(client)));
    arm_idle_timer();
}

void server::timer_fired(brood::monitor::timer_id id) {
    if (id != idle_timer_) return;  // one this server no longer waits for
    idle_timer_ = brood::monitor::timer_id::none;
    ++serving_;
    const auto now = brood::monitor::clock::now();
    for (auto& [fd, c] : connections_)
        if (c->may_idle() && now - c->last_request >= idle_)
            close_idle(*c, "closing the connection: no request for " + std::to_string(idle_.count()) + " ms");
    --serving_;
    close_finished();
    arm_idle_timer();
}

// Says why (if the client can take one more line now), then lets it go.
void server::close_idle(connection& c, std::string_view why) {
    const std::string line = error_line(0, why);
    if (c.output.pending() + line.size() <= max_pending_output) {
        c.output.append(line);
        flush(c);
    }
    c.finished = true;
}

server::connection* server::idle_the_longest() {
    connection* oldest = nullptr;
    for (auto& [fd, c] : connections_)
        if (c->may_idle() && (oldest == nullptr || c->last_request < oldest->last_request)) oldest = c.get();
    return oldest;
}

// One timer at a time, for the connection idle the longest. A request since only moves that
// connection's deadline later, so the timer may fire early; it then finds none due and is re-armed.
void server::arm_idle_timer() {
    if (idle_timer_ != brood::monitor::timer_id::none) return;
    if (const connection* oldest = idle_the_longest())
        idle_timer_ = loop_.add_timer(oldest->last_request + idle_, timer_tag_);
}

void server::on_connection(int fd, std::uint32_t revents) {
    const auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    connection& c = *it->second;
    ++serving_;
    if (revents & EPOLLERR) c.finished = true;
    if (!c.finished && (revents & EPOLLOUT)) flush(c);
    if (!c.finished && c.reading && (revents & (EPOLLIN | EPOLLHUP))) read_requests(c);
    // Hung up both ways: nothing more can be written either. Half-closed and answered: done.
    if ((revents & EPOLLHUP) || (!c.reading && c.output.pending() == 0)) c.finished = true;
    if (!c.finished) watch_for(c);
    --serving_;
    close_finished();
}

void server::read_requests(connection& c) {
    char buffer[read_chunk];
    const ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) c.finished = true;
        return;
    }
    if (n == 0) c.reading = false;
    c.input.append(std::string_view(buffer, static_cast<std::size_t>(n)));
    while (!c.finished && !c.input.overflowed())
        if (auto line = c.input.next_line())
            serve(c, *line);
        else
            break;
    if (c.input.overflowed()) {
        send(c, error_line(0, "request line longer than " + std::to_string(max_line) + " bytes; closing the connection"));
        c.reading = false;
    }
}

void server::serve(connection& c, std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank lines are no requests
    const parsed_request parsed = parse_request(line);
    const std::uint64_t id = parsed.value.id;
    c.last_request = brood::monitor::clock::now();
    if (!parsed.error.empty()) return send(c, error_line(id, parsed.error));
    if (!c.budget.take(rate_limit::clock::now()))
        return send(c, error_line(id, "too many requests (at most " + std::to_string(int(requests_per_second)) +
                                          " a second); try again later"));
    if (parsed.value.verb == "events") {
        c.subscribed = true;
        return send(c, reply_line(id, nlohmann::json::object()));
    }
    if (parsed.value.verb == "attach" && !takeover_) return send(c, error_line(id, "this server attaches to no terminal"));
    try {
        send(c, reply_line(id, handler_(parsed.value)));
    } catch (const request_error& refused) {
        return send(c, error_line(id, refused.what()));
    } catch (const std::exception& failed) {
        return send(c, error_line(id, std::string("internal error: ") + failed.what()));
    }
    if (parsed.value.verb == "attach" && !c.finished) hand_over(c, parsed.value);
}

void server::hand_over(connection& c, const request& r) {
    loop_.remove_fd(c.fd.get());
    c.handed_over = true;
    c.finished = true;
    std::string unsent = c.output.take_pending();
    takeover_(r, std::move(c.fd), std::move(unsent), c.input.take_rest());
}

void server::send(connection& c, std::string_view bytes) {
    if (c.finished) return;
    if (c.output.pending() + bytes.size() > max_pending_output) {
        c.finished = true;  // it does not read what it is sent: drop it rather than grow or wait
        return;
    }
    c.output.append(bytes);
    flush(c);
    if (!c.finished) watch_for(c);
}

void server::flush(connection& c) {
    if (c.output.flush(c.fd.get()) == outbox::result::gone) c.finished = true;
}

void server::watch_for(connection& c) {
    const std::uint32_t wanted = (c.reading ? EPOLLIN : 0u) | (c.output.pending() > 0 ? EPOLLOUT : 0u);
    if (wanted == c.watched) return;
    loop_.modify_fd(c.fd.get(), wanted);
    c.watched = wanted;
}

void server::close_finished() {
    if (serving_ > 0) return;
    std::erase_if(connections_, [this](const auto& entry) {
        if (!entry.second->finished) return false;
        if (!entry.second->handed_over) loop_.remove_fd(entry.first);
        return true;
    });
}

}  // namespace brood::control
