// Three fds that brood holds from its start, low-numbered, for its children's stdin, stdout and
// stderr. A child shares brood's fd table until it copies the fds below the highest one it is given
// into a table of its own (libbrood's spawn). An output pipe made once brood holds thousands of fds
// is numbered in the thousands, and a child given it would copy thousands of slots and close them
// again before its exec: several times what a health check costs itself. Lent to a slot for the
// length of the spawn, the pipe end is given to the child at a number below 64.
//
//   stdio_slots slots;                                 // early, while brood holds few fds
//   const stdio_slots::lease lent = slots.lend(out_write, err_write);
//   cmd.set_stdin(stdio::fd(slots.null())).set_stdout(stdio::fd(lent.out())).set_stderr(stdio::fd(lent.err()));
//   cmd.spawn();                                        // then lent goes: the slots hold /dev/null again
#pragma once

#include <brood/unique_fd.hpp>

namespace brood::supervisor {

class stdio_slots {
public:
    // Opens /dev/null into three fds. Throws std::system_error when it cannot.
    stdio_slots();

    // /dev/null, read and write: a child's stdin. Never lent.
    int null() const noexcept { return null_.get(); }

    // Two fds placed at the output slots until the lease goes; both may be the same fd.
    class lease {
    public:
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease();
        int out() const noexcept { return slots_.out_.get(); }
        int err() const noexcept { return slots_.err_.get(); }

    private:
        friend class stdio_slots;
        explicit lease(const stdio_slots& slots) : slots_(slots) {}
        const stdio_slots& slots_;
    };
    // Throws std::system_error when an fd cannot be placed (it then places none).
    [[nodiscard]] lease lend(int out, int err) const;

private:
    void clear() const noexcept;
    unique_fd null_, out_, err_;
};

}  // namespace brood::supervisor
