#include "supervisor/notify_socket.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::supervisor {

namespace {

// Room for the credentials and for as many fds as one message may carry (SCM_MAX_FD).
constexpr std::size_t max_passed_fds = 253;
constexpr std::size_t control_size = CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * max_passed_fds);

// Fills message from "KEY=VALUE" lines; false when it holds none of the keys brood uses.
bool parse(std::string_view text, notify_socket::message& message) {
    bool understood = false;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (line == "READY=1") {
            message.ready = understood = true;
        } else if (line == "STOPPING=1") {
            message.stopping = understood = true;
        } else if (line == "RELOADING=1") {
            message.reloading = understood = true;
        } else if (line == "WATCHDOG=1") {
            message.watchdog = understood = true;
        } else if (line.starts_with("STATUS=")) {
            message.status = std::string(line.substr(7));
            understood = true;
        }
    }
    return understood;
}

}  // namespace

notify_socket::notify_socket(std::filesystem::path path, std::optional<uid_t> owner) : path_(std::move(path)) {
    const std::string& name = path_.native();
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (name.empty() || name.size() >= sizeof address.sun_path)
        throw_errno(ENAMETOOLONG, "notify socket \"" + name + "\" (at most " +
                                      std::to_string(sizeof address.sun_path - 1) + " bytes)");
    std::memcpy(address.sun_path, name.c_str(), name.size() + 1);

    socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket_) throw_errno(errno, "socket for notify socket \"" + name + "\"");
    const int on = 1;
    if (::setsockopt(socket_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        throw_errno(errno, "SO_PASSCRED on notify socket \"" + name + "\"");
    // A socket file left by a brood that was killed; nothing else may live at this path.
    if (::unlink(name.c_str()) != 0 && errno != ENOENT) throw_errno(errno, "remove stale notify socket \"" + name + "\"");
    // Linux gives the socket file the mode of the socket's inode: set before bind, the file is
    // never reachable by other users, not even for a moment.
    if (::fchmod(socket_.get(), 0600) != 0) throw_errno(errno, "chmod 0600 notify socket \"" + name + "\"");
    if (::bind(socket_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw_errno(errno, "bind notify socket \"" + name + "\"");
    // Sending needs write permission on the file: a program run as another user gets the socket.
    if (owner && ::chown(name.c_str(), *owner, static_cast<gid_t>(-1)) != 0)
        throw_errno(errno, "chown notify socket \"" + name + "\" to uid " + std::to_string(*owner));
}

notify_socket::~notify_socket() { ::unlink(path_.c_str()); }

std::optional<notify_socket::message> notify_socket::receive() {
    for (;;) {
        char text[max_message];
        alignas(cmsghdr) char control[control_size];
        iovec data{.iov_base = text, .iov_len = sizeof text};
        msghdr header{};
        header.msg_iov = &data;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        // MSG_TRUNC: the datagram's real length comes back, so a longer one is seen and skipped.
        const ssize_t n = ::recvmsg(socket_.get(), &header, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return std::nullopt;
            throw_errno(errno, "receive on notify socket \"" + path_.string() + "\"");
        }

        std::optional<ucred> credentials;
        for (cmsghdr* item = CMSG_FIRSTHDR(&header); item != nullptr; item = CMSG_NXTHDR(&header, item)) {
            if (item->cmsg_level != SOL_SOCKET) continue;
            if (item->cmsg_type == SCM_CREDENTIALS && item->cmsg_len == CMSG_LEN(sizeof(ucred))) {
                ucred sender;
                std::memcpy(&sender, CMSG_DATA(item), sizeof sender);
                credentials = sender;
            } else if (item->cmsg_type == SCM_RIGHTS) {
                const std::size_t count = (item->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (std::size_t i = 0; i < count; ++i) {
                    int passed;
                    std::memcpy(&passed, CMSG_DATA(item) + i * sizeof(int), sizeof passed);
                    ::close(passed);
                }
            }
        }

        const auto size = static_cast<std::size_t>(n);
        const bool cut = size > sizeof text || (header.msg_flags & MSG_TRUNC) != 0;
        if (!credentials || credentials->pid <= 0 || size == 0 || cut) continue;
        const std::string_view body(text, size);
        if (body.find('\0') != std::string_view::npos) continue;
        message result;
        result.sender = credentials->pid;
        if (parse(body, result)) return result;
    }
}

}  // namespace brood::supervisor
