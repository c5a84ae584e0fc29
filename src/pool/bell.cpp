#include "pool/bell.hpp"

#include <cerrno>
#include <cstdint>

#include <sys/eventfd.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::detail {

unique_fd make_bell() {
    unique_fd bell(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!bell) throw_errno(errno, "eventfd for a pool channel");
    return bell;
}

void ring_bell(int bell) noexcept {
    const std::uint64_t one = 1;
    // EAGAIN would mean the counter is full: the sleeper is being woken anyway.
    while (::write(bell, &one, sizeof one) == -1 && errno == EINTR) {
    }
}

void drain_bell(int bell) noexcept {
    std::uint64_t count = 0;
    while (::read(bell, &count, sizeof count) == -1 && errno == EINTR) {
    }
}

}  // namespace brood::detail
