// stdio_slots: the slots are dup3 targets, so placing an fd, and putting /dev/null back, replaces
// what the slot held in one step and never frees its number for another open to take.
#include "supervisor/stdio_slots.hpp"

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::supervisor {

namespace {

unique_fd duplicate(int fd) {
    unique_fd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!copy) throw_errno(errno, "duplicate /dev/null for the children's output");
    return copy;
}

}  // namespace

stdio_slots::stdio_slots() : null_(::open("/dev/null", O_RDWR | O_CLOEXEC)) {
    if (!null_) throw_errno(errno, "open /dev/null");
    out_ = duplicate(null_.get());
    err_ = duplicate(null_.get());
}

stdio_slots::lease stdio_slots::lend(int out, int err) const {
    if (::dup3(out, out_.get(), O_CLOEXEC) < 0 || ::dup3(err, err_.get(), O_CLOEXEC) < 0) {
        const int error = errno;
        clear();
        throw_errno(error, "place a child's output at a low fd");
    }
    return lease(*this);
}

stdio_slots::lease::~lease() { slots_.clear(); }

// Cannot fail: both fds are open, and a slot's number is never free for an open to be racing for.
void stdio_slots::clear() const noexcept {
    for (const int slot : {out_.get(), err_.get()}) ::dup3(null_.get(), slot, O_CLOEXEC);
}

}  // namespace brood::supervisor
