#include <cerrno>

#include <fcntl.h>

#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "proc/dir_entries.hpp"

namespace brood::proc {

std::vector<pid_t> all_processes() {
    const int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) throw_errno(errno, "open /proc");
    return detail::numeric_entries(dir);
}

}  // namespace brood::proc
