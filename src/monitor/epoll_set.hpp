// The monitor's epoll set, and how each registration says which source it belongs to.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include <sys/epoll.h>

#include <brood/unique_fd.hpp>

namespace brood::detail {

// The top byte of epoll_event.data.u64 names the source; the other 56 bits identify it within.
enum class source_kind : std::uint8_t { signal = 1, wake, timer, child, fd };

constexpr std::uint64_t payload_mask = (std::uint64_t{1} << 56) - 1;
constexpr std::uint64_t make_key(source_kind kind, std::uint64_t payload) noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(kind)} << 56) | (payload & payload_mask);
}
constexpr source_kind key_kind(std::uint64_t key) noexcept { return static_cast<source_kind>(key >> 56); }
constexpr std::uint64_t key_payload(std::uint64_t key) noexcept { return key & payload_mask; }

class epoll_set {
public:
    epoll_set();
    int fd() const noexcept { return fd_.get(); }
    void add(int fd, std::uint32_t events, std::uint64_t key);
    void modify(int fd, std::uint32_t events, std::uint64_t key);
    // False when fd was not in the set (or is closed already).
    bool remove(int fd) noexcept;
    // Ready registrations, up to out.size(); 0 on timeout or EINTR. No timeout waits forever.
    std::size_t wait(std::span<epoll_event> out, std::optional<std::chrono::nanoseconds> timeout);

private:
    unique_fd fd_;
};

}  // namespace brood::detail
