#include "monitor/epoll_set.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
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

std::size_t epoll_set::wait(std::span<epoll_event> out, std::optional<std::chrono::nanoseconds> timeout) {
    // Timers are due to the nanosecond (epoll_pwait2, Linux 5.11); before it, to the millisecond
    // after their deadline, never before.
    static std::atomic<bool> has_pwait2{true};
    const int size = static_cast<int>(out.size());
    int n;
    if (timeout && has_pwait2.load(std::memory_order_relaxed)) {
        const auto ns = std::max(timeout->count(), std::chrono::nanoseconds::rep{0});
        const timespec limit{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        n = ::epoll_pwait2(fd_.get(), out.data(), size, &limit, nullptr);
        if (n == -1 && errno == ENOSYS) {
            has_pwait2.store(false, std::memory_order_relaxed);
            return wait(out, timeout);
        }
    } else {
        const long long ms = timeout ? std::chrono::ceil<std::chrono::milliseconds>(*timeout).count() : -1;
        n = ::epoll_wait(fd_.get(), out.data(), size, static_cast<int>(std::clamp<long long>(ms, -1, INT_MAX)));
    }
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) return 0;
    throw_errno(errno, "epoll_wait in brood::monitor");
}

}  // namespace brood::detail
