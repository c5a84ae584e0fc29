// Three fds that brood holds from its start, low-numbered, for its children's stdin, stdout and
// stderr. A child shares brood's fd table until it copies the fds below the highest one it is given
// into a table of its own (libbrood's spawn). An output pipe made once brood holds thousands of fds
// is numbered in the thousands, and a child given it would copy thousands of slots and close them
// again before its exec: several times what a health check costs itself. Placed at a slot for the
// length of the spawn, the pipe end is given to the child at a number below 64.
//
//   stdio_slots slots;                                  // early, while brood holds few fds
//   child c = slots.spawn(cmd, out_write, err_write);   // the slots hold /dev/null again after it
#pragma once

#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {

class stdio_slots {
public:
    // Opens /dev/null into three fds. Throws std::system_error when it cannot.
    stdio_slots();

    // cmd.spawn() with stdin from /dev/null, stdout from out and stderr from err (which may be the
    // same fd). Throws what the spawn throws, or std::system_error when an fd cannot be placed.
    child spawn(command& cmd, int out, int err) const;
    // cmd.spawn() with the terminal's slave as stdin, stdout, stderr and controlling terminal.
    child spawn_on_terminal(command& cmd, int slave) const;

private:
    // out and err placed at the output slots until it goes.
    class lease;
    // Puts /dev/null back at the out slot, and at the err slot with both.
    void clear(bool both) const noexcept;
    unique_fd null_, out_, err_;
};

}  // namespace brood::supervisor
