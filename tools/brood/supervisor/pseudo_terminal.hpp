// The pseudo-terminal a program with tty = true runs on, one per run:
//
//   pseudo_terminal pty("web.0");                 // throws std::system_error naming the call
//   cmd.set_stdin(stdio::fd(pty.slave())) ... .controlling_terminal(pty.slave());
//   child c = cmd.spawn();
//   pty.close_slave();                            // then reading the master ends (EIO) with the run
//   output_relay relay(pty.reader(), ...);        // the program's output, from the master side
//   pty.resize(40, 120);                          // TIOCSWINSZ: the program gets SIGWINCH
//
// The master is non-blocking. Both sides are close-on-exec and opened without becoming brood's own
// controlling terminal (O_NOCTTY), which brood up as a container's session leader would otherwise
// acquire. The slave comes from the master itself (TIOCGPTPEER), not from a path under /dev/pts, so
// no other process can slip in between. A new terminal is 24 rows by 80 columns, as a VT100's.
#pragma once

#include <cstdint>
#include <string>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::supervisor {

struct window_size {
    std::uint16_t rows = 24;
    std::uint16_t columns = 80;
};

class pseudo_terminal {
public:
    explicit pseudo_terminal(const std::string& instance);

    int master() const { return master_.get(); }
    int slave() const { return slave_.get(); }
    // Once the program is spawned: brood must not hold the slave, or the master never reports its end.
    void close_slave() { slave_.reset(); }
    // Another fd of the master, for the output relay to read and own.
    unique_fd reader() const;
    void resize(window_size size);
    // The terminal becomes the user's, as login does: a program run as another user can open it
    // again by its name (/dev/pts/N, as ttyname() gives it), as sudo, ssh and passwd do.
    void give_to(uid_t user);
    window_size size() const { return size_; }

private:
    std::string instance_;
    unique_fd master_;
    unique_fd slave_;
    window_size size_;
};

}  // namespace brood::supervisor
