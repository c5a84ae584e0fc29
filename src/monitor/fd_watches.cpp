#include "monitor/fd_watches.hpp"

#include <stdexcept>
#include <string>

namespace brood::detail {
namespace {

constexpr std::uint32_t serial_limit = 1u << 24;  // the payload has 56 bits: 24 serial + 32 fd

}  // namespace

void fd_watches::add(int fd, std::uint32_t events, monitor::fd_callback callback) {
    if (fd < 0) throw std::invalid_argument("brood::monitor::add_fd: invalid fd " + std::to_string(fd));
    if (!callback) throw std::invalid_argument("brood::monitor::add_fd: empty callback for fd " + std::to_string(fd));
    if (watches_.contains(fd))
        throw std::invalid_argument("brood::monitor::add_fd: fd " + std::to_string(fd) + " is watched already");
    const std::uint32_t serial = next_serial_;
    next_serial_ = (next_serial_ + 1) % serial_limit;
    epoll_.add(fd, events, make_key(source_kind::fd, payload(fd, serial)));
    watches_.emplace(fd, watch{serial, std::make_shared<monitor::fd_callback>(std::move(callback))});
}

void fd_watches::modify(int fd, std::uint32_t events) {
    auto it = watches_.find(fd);
    if (it == watches_.end())
        throw std::invalid_argument("brood::monitor::modify_fd: fd " + std::to_string(fd) + " is not watched");
    epoll_.modify(fd, events, make_key(source_kind::fd, payload(fd, it->second.serial)));
}

bool fd_watches::remove(int fd) noexcept {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return false;
    // Fails when the user closed fd first; the kernel then dropped it from the set, unless the file
    // is open elsewhere too (a dup): which is why fds must be removed before they are closed.
    epoll_.remove(fd);
    watches_.erase(it);
    return true;
}

std::shared_ptr<monitor::fd_callback> fd_watches::callback(std::uint64_t key_payload) const {
    auto it = watches_.find(static_cast<int>(static_cast<std::uint32_t>(key_payload)));
    if (it == watches_.end() || it->second.serial != key_payload >> 32) return nullptr;
    return it->second.callback;
}

}  // namespace brood::detail
