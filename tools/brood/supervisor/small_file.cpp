#include "supervisor/small_file.hpp"

#include <cerrno>

#include <unistd.h>

namespace brood::supervisor {

std::string_view read_small_file(const unique_fd& file, char (&buffer)[small_file_size]) {
    if (!file) return {};
    ssize_t n;
    do n = ::pread(file.get(), buffer, sizeof buffer, 0);
    while (n < 0 && errno == EINTR);
    return n > 0 ? std::string_view(buffer, static_cast<std::size_t>(n)) : std::string_view();
}

}  // namespace brood::supervisor
