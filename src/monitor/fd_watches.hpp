// The user's fds in the monitor's epoll set, each with its callback.
//
// A serial number in the epoll key tells a ready fd from a new watch that reuses its number after a
// callback removed the old one in the same batch. Callbacks are shared_ptrs so that a callback can
// remove (destroy) its own watch while it runs.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include <brood/monitor.hpp>

#include "monitor/epoll_set.hpp"

namespace brood::detail {

class fd_watches {
public:
    explicit fd_watches(epoll_set& epoll) : epoll_(epoll) {}
    void add(int fd, std::uint32_t events, monitor::fd_callback callback);
    void modify(int fd, std::uint32_t events);
    bool remove(int fd) noexcept;
    std::size_t size() const noexcept { return watches_.size(); }
    // The callback a ready epoll key stands for; null when that watch was removed meanwhile.
    std::shared_ptr<monitor::fd_callback> callback(std::uint64_t payload) const;

private:
    struct watch {
        std::uint32_t serial;
        std::shared_ptr<monitor::fd_callback> callback;
    };
    static std::uint64_t payload(int fd, std::uint32_t serial) noexcept {
        return (std::uint64_t{serial} << 32) | static_cast<std::uint32_t>(fd);
    }

    epoll_set& epoll_;
    std::unordered_map<int, watch> watches_;
    std::uint32_t next_serial_ = 0;
};

}  // namespace brood::detail
