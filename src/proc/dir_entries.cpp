#include "proc/dir_entries.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include <dirent.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "proc/proc_file.hpp"

namespace brood::proc::detail {

namespace {

struct dir_closer {
    void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};

}  // namespace

std::vector<pid_t> numeric_entries(int dir) {
    std::unique_ptr<DIR, dir_closer> stream(::fdopendir(dir));
    if (!stream) {
        const int error = errno;
        ::close(dir);
        throw_errno(error, "fdopendir under /proc");
    }
    std::vector<pid_t> ids;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(stream.get());
        if (entry == nullptr) {
            if (errno == 0 || is_vanished(errno)) break;
            throw_errno(errno, "readdir under /proc");
        }
        const char* name = entry->d_name;
        const char* end = name + std::strlen(name);
        pid_t id = 0;
        const auto [stop, error] = std::from_chars(name, end, id);
        if (error == std::errc() && stop == end) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace brood::proc::detail
