#include <charconv>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include <brood/proc.hpp>

#include "proc/proc_file.hpp"

namespace brood::proc {

std::optional<statm_file> statm_file::open(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    unique_fd file = detail::open_held(pid, "statm");
    if (!file) return std::nullopt;
    return statm_file(pid, std::move(file));
}

// "size resident shared text lib data dt", in pages.
std::optional<std::uint64_t> statm_file::resident_bytes() const {
    char buffer[2048];
    const std::optional<std::string_view> text = detail::read_held(file_.get(), pid_, "statm", buffer);
    if (!text) return std::nullopt;
    const std::size_t space = text->find(' ');
    std::uint64_t pages = 0;
    const char* first = space == std::string_view::npos ? text->data() + text->size() : text->data() + space + 1;
    const auto [end, error] = std::from_chars(first, text->data() + text->size(), pages);
    if (error != std::errc() || end == first) throw std::runtime_error("malformed /proc/" + std::to_string(pid_) + "/statm");
    return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace brood::proc
