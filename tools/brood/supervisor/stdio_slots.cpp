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

// One fd for both streams (a health check's, a terminal) takes the out slot alone.
class stdio_slots::lease {
public:
    // Throws std::system_error when an fd cannot be placed (it then places none).
    lease(const stdio_slots& slots, int out, int err) : slots_(slots), both_(out != err) {
        if (::dup3(out, slots.out_.get(), O_CLOEXEC) < 0 || (both_ && ::dup3(err, slots.err_.get(), O_CLOEXEC) < 0)) {
            const int error = errno;
            slots.clear(both_);
            throw_errno(error, "place a child's output at a low fd");
        }
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { slots_.clear(both_); }
    // The slot that holds err.
    int err_slot() const { return both_ ? slots_.err_.get() : slots_.out_.get(); }

private:
    const stdio_slots& slots_;
    bool both_;
};

stdio_slots::stdio_slots() : null_(::open("/dev/null", O_RDWR | O_CLOEXEC)) {
    if (!null_) throw_errno(errno, "open /dev/null");
    out_ = duplicate(null_.get());
    err_ = duplicate(null_.get());
}

child stdio_slots::spawn(command& cmd, int out, int err) const {
    const lease placed(*this, out, err);
    return cmd.set_stdin(stdio::fd(null_.get())).set_stdout(stdio::fd(out_.get())).set_stderr(stdio::fd(placed.err_slot())).spawn();
}

child stdio_slots::spawn_on_terminal(command& cmd, int slave) const {
    const lease placed(*this, slave, slave);
    const stdio terminal = stdio::fd(out_.get());
    return cmd.set_stdin(terminal).set_stdout(terminal).set_stderr(terminal).controlling_terminal(out_.get()).spawn();
}

// Cannot fail: both fds are open, and a slot's number is never free for an open to be racing for.
void stdio_slots::clear(bool both) const noexcept {
    ::dup3(null_.get(), out_.get(), O_CLOEXEC);
    if (both) ::dup3(null_.get(), err_.get(), O_CLOEXEC);
}

}  // namespace brood::supervisor
