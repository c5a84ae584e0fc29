#include <brood/unique_fd.hpp>

#include <unistd.h>

namespace brood {

void unique_fd::reset(int fd) noexcept {
    // Never retry close on EINTR: on Linux the fd is released even then, and a retry could close
    // an fd another thread has just been given.
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

}  // namespace brood
