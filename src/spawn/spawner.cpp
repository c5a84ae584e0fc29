// brood::spawner: the owner's side (prepare, send the plan and its fds, read the reply) and the
// helper's loop (read a plan, launch_child as a sibling, reply with the pid, report and pidfd).
#include <brood/spawner.hpp>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/fork.hpp>

#include "spawn/plan_message.hpp"
#include "spawn/spawn_plan.hpp"

namespace brood {
namespace detail {
namespace {

struct spawn_reply {
    std::int64_t result;  // the pid, or -errno
    child_report report;
};

// Room for the most fds one message carries.
union fd_control {
    char bytes[CMSG_SPACE(sizeof(int) * plan_message_max_fds)];
    cmsghdr align;
};

// sendmsg of one message with fds (none when count is 0). 0, or errno.
int send_with_fds(int socket, const void* data, std::size_t size, const int* fds, std::size_t count) noexcept {
    iovec part{const_cast<void*>(data), size};
    msghdr msg{};
    msg.msg_iov = &part;
    msg.msg_iovlen = 1;
    fd_control control{};
    if (count != 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * count);
        __builtin_memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
    }
    for (;;) {
        if (::sendmsg(socket, &msg, MSG_NOSIGNAL) >= 0) return 0;
        if (errno != EINTR) return errno;
    }
}

// recvmsg of one message into data, its fds (close-on-exec) into fds. The size received (0 at the
// other end's close), or -errno. A message or fds cut short close what came and give -EMSGSIZE.
long receive_with_fds(int socket, void* data, std::size_t size, int* fds, std::size_t& count) noexcept {
    iovec part{data, size};
    msghdr msg{};
    msg.msg_iov = &part;
    msg.msg_iovlen = 1;
    fd_control control{};
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    long n;
    do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    count = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t in_this = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < in_this; ++i) {
            int fd;
            __builtin_memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds[count++] = fd;
        }
    }
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        for (std::size_t i = 0; i < count; ++i) ::close(fds[i]);
        count = 0;
        return -EMSGSIZE;
    }
    return n;
}

// The helper, from its fork to its end: only system calls and the plan reader, nothing that
// allocates or locks, as it may be the fork of a multi-threaded process.
[[noreturn]] void serve(int socket, pid_t owner) noexcept {
    ::prctl(PR_SET_NAME, "brood-spawner");
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != owner) ::_exit(0);
    // Only its owner ends it: by closing the socket, or by dying.
    std::uint64_t all = ~std::uint64_t{0};
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, sizeof all);
    if (socket > 0) ::syscall(SYS_close_range, 0U, static_cast<unsigned>(socket - 1), 0U);
    ::syscall(SYS_close_range, static_cast<unsigned>(socket + 1), ~0U, 0U);
    // Each clone copies the fd table up to its highest open fd, and the child frees that copy: the
    // socket, numbered as in the owner (thousands of fds in), would cost every spawn a table that
    // long. Moved to the lowest number, the table stays within the few fds of one plan.
    if (const int low = ::fcntl(socket, F_DUPFD_CLOEXEC, 0); low >= 0 && low < socket) {
        ::close(socket);
        socket = low;
    }

    void* buffer = ::mmap(nullptr, plan_message_max, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* storage_memory =
        ::mmap(nullptr, sizeof(plan_storage), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // Ready: the owner's constructor waits for this, so no fd of its own outlives it here.
    const spawn_reply ready{buffer == MAP_FAILED || storage_memory == MAP_FAILED ? -ENOMEM : 0, {}};
    if (send_with_fds(socket, &ready, sizeof ready, nullptr, 0) != 0 || ready.result != 0) ::_exit(1);
    auto& storage = *static_cast<plan_storage*>(storage_memory);
    const char* message = static_cast<const char*>(buffer);

    for (;;) {
        int fds[plan_message_max_fds];
        std::size_t fd_count = 0;
        const long size = receive_with_fds(socket, buffer, plan_message_max, fds, fd_count);
        if (size == 0) ::_exit(0);  // the owner closed its end
        spawn_reply reply{};
        if (size < 0) {
            if (size != -EMSGSIZE) ::_exit(1);
            reply.result = -E2BIG;
        }
        int pidfd = -1;
        if (size > 0) {
            child_plan plan;
            int cgroup_fd = -1;
            const int error = read_plan_message(message, static_cast<std::size_t>(size), fds, fd_count, storage,
                                                plan, cgroup_fd);
            if (error != 0) {
                reply.result = -error;
            } else {
                plan.report = &reply.report;
                reply.result = launch_child(plan, cgroup_fd, pidfd, /*as_sibling=*/true);
            }
        }
        for (std::size_t i = 0; i < fd_count; ++i) ::close(fds[i]);
        const int error = send_with_fds(socket, &reply, sizeof reply, &pidfd, pidfd >= 0 ? 1 : 0);
        if (pidfd >= 0) ::close(pidfd);
        if (error != 0) ::_exit(1);
    }
}

}  // namespace

// The owner's side of one spawn: the plan to the helper, the reply back. Where the helper cannot
// serve this plan, or is gone, the child is made here.
struct spawner_link {
    static pid_t launch(void* context, child_plan& plan, int cgroup_fd, int& pidfd) noexcept {
        spawner& self = *static_cast<spawner*>(context);
        if (!self.socket_) return launch_child(plan, cgroup_fd, pidfd);
        thread_local plan_message message;
        try {
            if (!write_plan_message(plan, cgroup_fd, message)) return launch_child(plan, cgroup_fd, pidfd);
        } catch (const std::bad_alloc&) {
            return launch_child(plan, cgroup_fd, pidfd);
        }
        spawn_reply reply{};
        int received[plan_message_max_fds];
        std::size_t count = 0;
        if (send_with_fds(self.socket_.get(), message.bytes.data(), message.bytes.size(), message.fds.data(),
                          message.fds.size()) != 0 ||
            receive_with_fds(self.socket_.get(), &reply, sizeof reply, received, count) !=
                static_cast<long>(sizeof reply)) {
            // Gone (killed from outside): reaped by spawn() once this spawn is over, outside the
            // birth lock. Had it died after its clone, that child would be ours with no handle;
            // nothing but a SIGKILL between two of its system calls does that.
            self.socket_.reset();
            return launch_child(plan, cgroup_fd, pidfd);
        }
        for (std::size_t i = 1; i < count; ++i) ::close(received[i]);
        pidfd = count > 0 ? received[0] : -1;
        *plan.report = reply.report;
        return static_cast<pid_t>(reply.result);
    }
};

}  // namespace detail

spawner::spawner() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) throw_errno(errno, "spawner socketpair");
    unique_fd ours(ends[0]);
    unique_fd theirs(ends[1]);
    const pid_t owner = ::getpid();
    std::optional<child> forked = fork_here();
    if (!forked) detail::serve(theirs.get(), owner);
    helper_ = std::move(*forked);
    theirs.reset();
    detail::spawn_reply ready{};
    int none[detail::plan_message_max_fds];  // it sends none
    std::size_t count = 0;
    const long size = detail::receive_with_fds(ours.get(), &ready, sizeof ready, none, count);
    if (size != static_cast<long>(sizeof ready) || ready.result != 0)
        throw_errno(size < 0 ? static_cast<int>(-size) : ready.result < 0 ? static_cast<int>(-ready.result) : EPIPE,
                    "spawner helper did not start");
    socket_ = std::move(ours);
}

// Closing the socket ends the helper; the handle's drop (kill and reap) makes sure of it.
spawner::~spawner() { socket_.reset(); }

child spawner::spawn(const command& cmd) {
    const std::lock_guard lock(mutex_);
    const detail::launcher through{&detail::spawner_link::launch, this};
    // A helper found gone during the spawn is reaped after it, however the spawn ends.
    struct reap_when_gone {
        spawner& self;
        ~reap_when_gone() {
            if (!self.socket_ && self.helper_) self.helper_ = child();
        }
    } reap{*this};
    return detail::spawn_command(cmd, detail_spawn_access::stdin_(cmd), detail_spawn_access::stdout_(cmd),
                                 detail_spawn_access::stderr_(cmd), &through);
}

bool spawner::running() const {
    const std::lock_guard lock(mutex_);
    return static_cast<bool>(socket_);
}

pid_t spawner::pid() const {
    const std::lock_guard lock(mutex_);
    return helper_ ? helper_.pid() : 0;
}

}  // namespace brood
