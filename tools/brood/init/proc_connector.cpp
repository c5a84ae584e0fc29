#include "init/proc_connector.hpp"

#include <cerrno>
#include <cstring>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::cli {

namespace {

// Large enough that a burst of forks on a busy machine rarely overflows it (root may force it).
constexpr int receive_buffer = 8 << 20;

bool subscribe(int socket) {
    // nlmsghdr, then cn_msg (whose data[] is a flexible array), then the operation.
    alignas(nlmsghdr) char request[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
    auto* header = reinterpret_cast<nlmsghdr*>(request);
    header->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
    header->nlmsg_type = NLMSG_DONE;
    header->nlmsg_pid = static_cast<__u32>(::getpid());
    auto* message = static_cast<cn_msg*>(NLMSG_DATA(header));
    message->id = {CN_IDX_PROC, CN_VAL_PROC};
    message->len = sizeof(proc_cn_mcast_op);
    const proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
    std::memcpy(message->data, &op, sizeof op);
    return ::send(socket, request, header->nlmsg_len, 0) == static_cast<ssize_t>(header->nlmsg_len);
}

}  // namespace

std::optional<proc_connector> proc_connector::open(int* error) {
    unique_fd socket(::socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR));
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = CN_IDX_PROC;
    if (!socket || ::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        !subscribe(socket.get())) {
        *error = errno;
        return std::nullopt;
    }
    if (::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) != 0)
        ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    return proc_connector(std::move(socket));
}

bool proc_connector::read(std::vector<process_event>& events) {
    alignas(nlmsghdr) char buffer[16384];
    for (;;) {
        const ssize_t n = ::recv(socket_.get(), buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return true;
            if (errno == ENOBUFS) return false;
            throw_errno(errno, "recv from the proc connector");
        }
        int left = static_cast<int>(n);
        for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, left);
             header = NLMSG_NEXT(header, left)) {
            if (header->nlmsg_type == NLMSG_ERROR || header->nlmsg_type == NLMSG_NOOP) continue;
            const auto* message = static_cast<const cn_msg*>(NLMSG_DATA(header));
            if (message->id.idx != CN_IDX_PROC || message->len < sizeof(proc_event)) continue;
            proc_event event;
            std::memcpy(&event, message->data, sizeof event);
            switch (event.what) {
                case proc_event::PROC_EVENT_FORK: {
                    const auto& f = event.event_data.fork;
                    if (f.child_pid == f.child_tgid)
                        events.push_back({process_event::kind::fork, f.child_tgid, f.parent_tgid, 0});
                    break;
                }
                case proc_event::PROC_EVENT_EXEC:
                    events.push_back({process_event::kind::exec, event.event_data.exec.process_tgid, 0, 0});
                    break;
                case proc_event::PROC_EVENT_EXIT: {
                    const auto& e = event.event_data.exit;
                    if (e.process_pid == e.process_tgid)
                        events.push_back({process_event::kind::exit, e.process_tgid, e.parent_tgid,
                                          static_cast<int>(e.exit_code)});
                    break;
                }
                default: break;
            }
        }
    }
}

}  // namespace brood::cli
