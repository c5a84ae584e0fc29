// The kernel's process events connector (netlink, CONFIG_PROC_EVENTS): a message for every fork,
// exec and exit on the machine, as it happens. brood watch --tree follows descendants with it:
// nothing else tells a process about a grandchild's fork or exit without polling or ptrace.
//
// The kernel allows it only to root (CAP_NET_ADMIN) in the initial user and PID namespaces; open()
// says why it cannot be had elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::cli {

struct process_event {
    enum class kind { fork, exec, exit };
    kind what;
    pid_t pid;          // the process (thread group id): the new child for fork
    pid_t parent;       // fork: the process that forked
    int raw_status;     // exit: as wait() would report it
};

class proc_connector {
public:
    // nullopt with *error set (EPERM, EPROTONOSUPPORT...) when the kernel refuses.
    static std::optional<proc_connector> open(int* error);

    int fd() const noexcept { return socket_.get(); }
    // Appends the queued process events (threads are left out). False when the kernel dropped
    // some because the socket's buffer was full: the caller must rescan.
    bool read(std::vector<process_event>& events);

private:
    explicit proc_connector(unique_fd socket) noexcept : socket_(std::move(socket)) {}
    unique_fd socket_;
};

}  // namespace brood::cli
