// The socket a program with ready = "notify" reports to, as systemd's NOTIFY_SOCKET: a unix
// datagram socket, one per instance, whose path the instance is given in $NOTIFY_SOCKET;
// sd_notify(3) and systemd-notify send "READY=1", "STOPPING=1", "STATUS=..." to it,
// newline-separated, one message a datagram.
//
//   notify_socket notify(base / ".brood/notify/7.sock");
//   loop.add_fd(notify.fd(), EPOLLIN, [&](int, std::uint32_t) {
//       while (auto message = notify.receive()) ... message->sender, message->ready ...
//   });
//
// The sender is known from the kernel (SCM_CREDENTIALS), not from what the datagram says, so a
// program cannot claim to be another. It is the pid of the process that sent the datagram, in
// brood's pid namespace: a helper such as systemd-notify run by the program has a pid of its own.
// Not thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::supervisor {

class notify_socket {
public:
    // Longest datagram read, as systemd's; a longer one is skipped whole.
    static constexpr std::size_t max_message = 4096;

    // Removes a stale socket at path, binds a new one there (mode 0600) and asks for senders'
    // credentials. Throws std::system_error naming the path (too long for a unix socket included).
    // owner: the uid of the program that sends to it, when brood runs it as another user.
    explicit notify_socket(std::filesystem::path path, std::optional<uid_t> owner = std::nullopt);
    ~notify_socket();
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    // Non-blocking; readable (EPOLLIN) while datagrams are pending.
    int fd() const { return socket_.get(); }
    const std::filesystem::path& path() const { return path_; }

    struct message {
        pid_t sender = 0;
        bool ready = false;                 // READY=1
        bool stopping = false;              // STOPPING=1
        bool reloading = false;             // RELOADING=1
        bool watchdog = false;              // WATCHDOG=1
        std::optional<std::string> status;  // STATUS=... (the last one when repeated)
    };
    // The next datagram that says something brood uses; nullopt when none is pending. Skipped:
    // datagrams without credentials, empty, longer than max_message or holding a NUL byte, and
    // those with none of these keys (other keys, MAINPID= among them, are ignored).
    // File descriptors sent along (FDSTORE=1) are closed.
    std::optional<message> receive();

private:
    std::filesystem::path path_;
    unique_fd socket_;
};

}  // namespace brood::supervisor
