#include "monitor/epoll_set.hpp"

#include <cerrno>
#include <string>

#include <brood/error.hpp>

namespace brood::detail {

epoll_set::epoll_set() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!fd_) throw_errno(errno, "epoll_create1 for brood::monitor");
}

void epoll_set::add(int fd, std::uint32_t events, std::uint64_t key) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    if (::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) == -1) throw_errno(errno, "epoll_ctl ADD fd " + std::to_string(fd));
}

void epoll_set::modify(int fd, std::uint32_t events, std::uint64_t key) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    if (::epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) == -1) throw_errno(errno, "epoll_ctl MOD fd " + std::to_string(fd));
}

bool epoll_set::remove(int fd) noexcept { return ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr) == 0; }

std::size_t epoll_set::wait(std::span<epoll_event> out, int timeout_ms) {
    const int n = ::epoll_wait(fd_.get(), out.data(), static_cast<int>(out.size()), timeout_ms);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) return 0;
    throw_errno(errno, "epoll_wait in brood::monitor");
}

}  // namespace brood::detail
