#include "supervisor/pseudo_terminal.hpp"

#include <cerrno>
#include <cstdlib>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::supervisor {

pseudo_terminal::pseudo_terminal(const std::string& instance) : instance_(instance) {
    master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master_) throw_errno(errno, "posix_openpt for the terminal of " + instance_);
    if (::grantpt(master_.get()) != 0) throw_errno(errno, "grantpt for the terminal of " + instance_);
    if (::unlockpt(master_.get()) != 0) throw_errno(errno, "unlockpt for the terminal of " + instance_);
    slave_.reset(::ioctl(master_.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave_) throw_errno(errno, "ioctl TIOCGPTPEER for the terminal of " + instance_);
    const int flags = ::fcntl(master_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(master_.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        throw_errno(errno, "make the terminal of " + instance_ + " non-blocking");
    resize(size_);
}

unique_fd pseudo_terminal::reader() const {
    unique_fd copy(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 0));
    if (!copy) throw_errno(errno, "dup the terminal of " + instance_);
    return copy;
}

void pseudo_terminal::resize(window_size size) {
    winsize w{};
    w.ws_row = size.rows;
    w.ws_col = size.columns;
    if (::ioctl(master_.get(), TIOCSWINSZ, &w) != 0) throw_errno(errno, "ioctl TIOCSWINSZ on the terminal of " + instance_);
    size_ = size;
}

void pseudo_terminal::give_to(uid_t user) {
    if (::fchown(slave_.get(), user, static_cast<gid_t>(-1)) != 0)
        throw_errno(errno, "give the terminal of " + instance_ + " to uid " + std::to_string(user));
}

}  // namespace brood::supervisor
