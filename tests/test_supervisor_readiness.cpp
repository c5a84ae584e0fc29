// The supervisor's readiness checks: the sd_notify-style notify socket (sender from the kernel's
// credentials, READY/STOPPING/STATUS, malformed datagrams skipped) and the TCP port probe.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/unique_fd.hpp>

#include "support/leak_check.hpp"
#include "support/temp_dir.hpp"
#include "supervisor/notify_socket.hpp"
#include "supervisor/tcp_probe.hpp"

using namespace brood::supervisor;
using brood::unique_fd;
using brood::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

sockaddr_un address_of(const fs::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return address;
}

// Sends one datagram from this process, as a program calling sd_notify would.
void send_datagram(const fs::path& socket_path, std::string_view text, int pass_fd = -1) {
    unique_fd sender(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sender);
    sockaddr_un address = address_of(socket_path);
    iovec data{.iov_base = const_cast<char*>(text.data()), .iov_len = text.size()};
    msghdr header{};
    header.msg_name = &address;
    header.msg_namelen = sizeof address;
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (pass_fd >= 0) {
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        cmsghdr* item = CMSG_FIRSTHDR(&header);
        item->cmsg_level = SOL_SOCKET;
        item->cmsg_type = SCM_RIGHTS;
        item->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(item), &pass_fd, sizeof pass_fd);
    }
    ASSERT_EQ(::sendmsg(sender.get(), &header, 0), static_cast<ssize_t>(text.size())) << std::strerror(errno);
}

bool readable(int fd) {
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&ready, 1, 0) == 1;
}

// A TCP socket bound to 127.0.0.1 on a port the kernel chose.
sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

struct bound_port {
    unique_fd socket{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    std::uint16_t port = 0;
    bound_port() {
        sockaddr_in address = loopback(0);
        if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::system_error(errno, std::generic_category(), "bind");
        socklen_t length = sizeof address;
        ::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length);
        port = ntohs(address.sin_port);
    }
};

}  // namespace

TEST(notify_socket, a_child_reports_ready_with_its_own_pid) {
    temp_dir dir("notify");
    notify_socket notify(dir.path() / "notify.sock");
    EXPECT_FALSE(notify.receive());

    auto child = brood::command(brood::testing::helper("notify_send"))
                     .arg("STATUS=warming up")
                     .arg("READY=1")
                     .env("NOTIFY_SOCKET", notify.path().string())
                     .spawn();
    const pid_t pid = child.pid();
    ASSERT_EQ(child.wait().code(), 0);

    ASSERT_TRUE(readable(notify.fd()));
    const auto message = notify.receive();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->sender, pid);
    EXPECT_TRUE(message->ready);
    EXPECT_FALSE(message->stopping);
    EXPECT_EQ(message->status, "warming up");
    EXPECT_FALSE(notify.receive());
}

TEST(notify_socket, parses_stopping_and_status_and_ignores_other_keys) {
    temp_dir dir("notify");
    notify_socket notify(dir.path() / "notify.sock");
    send_datagram(notify.path(), "MAINPID=1\nSTOPPING=1\nSTATUS=first\nSTATUS=last\nREADY=0\n");
    const auto message = notify.receive();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->sender, ::getpid());
    EXPECT_FALSE(message->ready);
    EXPECT_TRUE(message->stopping);
    EXPECT_EQ(message->status, "last");
    EXPECT_FALSE(notify.receive());
}

TEST(notify_socket, reads_the_watchdog_and_reloading) {
    temp_dir dir("notify");
    notify_socket notify(dir.path() / "notify.sock");
    send_datagram(notify.path(), "WATCHDOG=1");
    send_datagram(notify.path(), "RELOADING=1\nMAINPID=12");
    const auto fed = notify.receive();
    ASSERT_TRUE(fed);
    EXPECT_TRUE(fed->watchdog);
    EXPECT_FALSE(fed->reloading);
    const auto reloading = notify.receive();
    ASSERT_TRUE(reloading);
    EXPECT_TRUE(reloading->reloading);
    EXPECT_FALSE(reloading->watchdog);
    EXPECT_FALSE(notify.receive());
}

TEST(notify_socket, skips_malformed_oversized_and_meaningless_datagrams) {
    temp_dir dir("notify");
    notify_socket notify(dir.path() / "notify.sock");
    send_datagram(notify.path(), std::string("READY=1\0garbage", 15));
    send_datagram(notify.path(), "READY=1\n" + std::string(notify_socket::max_message, 'x'));
    send_datagram(notify.path(), "MAINPID=12\nBARRIER=1\nno equals sign");
    send_datagram(notify.path(), "READY");
    send_datagram(notify.path(), "STATUS=the one that counts");
    const auto message = notify.receive();
    ASSERT_TRUE(message);
    EXPECT_FALSE(message->ready);
    EXPECT_EQ(message->status, "the one that counts");
    EXPECT_FALSE(notify.receive());
}

TEST(notify_socket, closes_file_descriptors_sent_along) {
    // The leak check fails this test if the fd that came with the datagram stays open.
    temp_dir dir("notify");
    notify_socket notify(dir.path() / "notify.sock");
    unique_fd passed(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    send_datagram(notify.path(), "FDSTORE=1\nREADY=1", passed.get());
    const auto message = notify.receive();
    ASSERT_TRUE(message);
    EXPECT_TRUE(message->ready);
}

TEST(notify_socket, replaces_a_stale_socket_is_private_and_removed_when_done) {
    temp_dir dir("notify");
    const fs::path path = dir.path() / "notify.sock";
    { notify_socket first(path); }
    EXPECT_FALSE(fs::exists(path));
    {
        // A socket file left behind by a brood that was killed.
        unique_fd stale(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        const sockaddr_un address = address_of(path);
        ASSERT_EQ(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    }
    ASSERT_TRUE(fs::exists(path));
    notify_socket notify(path);
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    send_datagram(path, "READY=1");
    EXPECT_TRUE(notify.receive());
}

TEST(notify_socket, a_path_too_long_is_an_error_naming_it) {
    temp_dir dir("notify");
    const fs::path path = dir.path() / (std::string(120, 'n') + ".sock");
    try {
        notify_socket notify(path);
        FAIL() << "no error";
    } catch (const std::system_error& error) {
        EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
    EXPECT_FALSE(fs::exists(path));
}

// The probe's answer within 200 ms of checks 10 ms apart, as brood up's timer would ask again.
bool answer_soon(tcp_probe& probe) {
    for (int i = 0; i < 20; ++i) {
        if (probe.check()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST(tcp_probe, a_listening_port_accepts_a_bound_or_closed_one_does_not) {
    bound_port port;
    tcp_probe probe(port.port);
    EXPECT_FALSE(answer_soon(probe)) << "bound, not listening";
    ASSERT_EQ(::listen(port.socket.get(), 4), 0);
    EXPECT_TRUE(answer_soon(probe)) << "listening (the kernel completes the handshake)";
    port.socket.reset();
    EXPECT_FALSE(answer_soon(probe)) << "closed";
}

// A listener whose accept queue is full drops new SYNs, so a connect stays in progress: the check
// must not wait for it (brood up's loop would stall), and must succeed once the listener catches up.
TEST(tcp_probe, a_listener_with_a_full_backlog_does_not_hold_the_check) {
    bound_port port;
    ASSERT_EQ(::listen(port.socket.get(), 0), 0);
    std::vector<unique_fd> fillers;
    for (int i = 0; i < 4; ++i) {
        fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        const sockaddr_in address = loopback(port.port);
        ::connect(fillers.back().get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    }
    tcp_probe probe(port.port);
    const auto start = std::chrono::steady_clock::now();
    const bool accepted = probe.check();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50)) << "the check waited";
    EXPECT_FALSE(accepted) << "the backlog was not full: the test proves nothing";

    ASSERT_EQ(::fcntl(port.socket.get(), F_SETFL, O_NONBLOCK), 0);
    std::vector<unique_fd> taken;
    const auto deadline = start + std::chrono::seconds(10);
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
        for (int fd; (fd = ::accept4(port.socket.get(), nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) taken.emplace_back(fd);
        ready = probe.check();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(ready) << "the probe never saw the listener accept";
}
