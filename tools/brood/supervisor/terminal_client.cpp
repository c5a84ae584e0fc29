#include "supervisor/terminal_client.hpp"

#include <cerrno>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace brood::supervisor {

namespace {

// Read from the client per wake-up, at most: keys come a few at a time; a paste is read in turns.
constexpr std::size_t read_chunk = 4096;

}  // namespace

terminal_client::terminal_client(brood::monitor& loop, unique_fd socket, int master, std::string instance,
                                 std::string unsent, std::string typed, std::function<void()> gone)
    : loop_(loop),
      socket_(std::move(socket)),
      master_(master),
      instance_(std::move(instance)),
      gone_(std::move(gone)),
      output_(std::move(unsent)),
      keys_(std::move(typed)) {
    watched_ = EPOLLIN;
    loop_.add_fd(socket_.get(), watched_, [this](int, std::uint32_t revents) { on_socket(revents); });
    flush();
    if (!left_) write_keys();
    if (!left_) watch();
}

terminal_client::~terminal_client() {
    if (master_watched_) loop_.remove_fd(master_);
    if (socket_) loop_.remove_fd(socket_.get());
}

void terminal_client::show(std::string_view bytes) {
    if (left_) return;
    if (output_.size() - sent_ + bytes.size() > max_waiting_output) {
        end("detached: this client did not read its output fast enough (the log has all of it)");
        gone_pending_ = true;
        return report_gone();
    }
    output_.append(bytes);
    flush();
    if (!left_) watch();
    report_gone();
}

void terminal_client::end(std::string_view why) {
    if (left_) return;
    const std::string line = "\r\n[brood: " + instance_ + ": " + std::string(why) + "]\r\n";
    // Best effort, without waiting: the client may not be reading.
    output_.append(line);
    flush();
    left_ = true;
    if (master_watched_) loop_.remove_fd(master_);
    master_watched_ = false;
    loop_.remove_fd(socket_.get());
    socket_.reset();
}

void terminal_client::on_socket(std::uint32_t revents) {
    if (left_) return;
    if (revents & EPOLLERR) leave();
    // Gone with keys the terminal has not taken yet: its socket cannot be read before they are, and
    // epoll reports a hang-up whatever it is asked; waiting would spin. They are dropped.
    if (!left_ && (revents & EPOLLHUP) && !keys_.empty()) leave();
    if (!left_ && (revents & EPOLLOUT)) flush();
    if (!left_ && (revents & (EPOLLIN | EPOLLHUP)) && keys_.empty()) read_keys();
    if (!left_) watch();
    report_gone();
}

void terminal_client::read_keys() {
    char buffer[read_chunk];
    const ssize_t n = ::recv(socket_.get(), buffer, sizeof buffer, 0);
    if (n == 0) return leave();  // brood attach detached (Ctrl-]) or ended
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) leave();
        return;
    }
    keys_.assign(buffer, static_cast<std::size_t>(n));
    write_keys();
}

// What the terminal does not take now is written once the master is writable again.
void terminal_client::write_keys() {
    while (!keys_.empty()) {
        const ssize_t n = ::write(master_, keys_.data(), keys_.size());
        if (n > 0) {
            keys_.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        keys_.clear();  // EIO: the program's end is on its way; end() comes with it
        break;
    }
    const bool wanted = !keys_.empty();
    if (wanted == master_watched_) return;
    if (wanted)
        loop_.add_fd(master_, EPOLLOUT, [this](int, std::uint32_t) { on_master_writable(); });
    else
        loop_.remove_fd(master_);
    master_watched_ = wanted;
}

void terminal_client::on_master_writable() {
    if (left_) return;
    write_keys();
    if (!left_) watch();
    report_gone();
}

void terminal_client::flush() {
    while (sent_ < output_.size()) {
        const ssize_t n = ::send(socket_.get(), output_.data() + sent_, output_.size() - sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (!left_) leave();  // EPIPE, ECONNRESET: the client is gone
        return;
    }
    output_.clear();
    sent_ = 0;
}

// Keys are read only while none wait for the terminal; output is waited for while some is left.
void terminal_client::watch() {
    const std::uint32_t wanted = (keys_.empty() ? EPOLLIN : 0u) | (sent_ < output_.size() ? EPOLLOUT : 0u);
    if (wanted == watched_) return;
    loop_.modify_fd(socket_.get(), wanted);
    watched_ = wanted;
}

void terminal_client::leave() {
    if (left_) return;
    left_ = true;
    if (master_watched_) loop_.remove_fd(master_);
    master_watched_ = false;
    loop_.remove_fd(socket_.get());
    socket_.reset();
    gone_pending_ = true;
}

// The last thing each entry point does: gone may destroy this object.
void terminal_client::report_gone() {
    if (!gone_pending_) return;
    gone_pending_ = false;
    const std::function<void()> gone = std::move(gone_);
    gone();
}

}  // namespace brood::supervisor
