#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>
#include <variant>

#include <fcntl.h>

#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "proc/dir_entries.hpp"
#include "proc/proc_file.hpp"

namespace brood::proc {

namespace {

void append_pids(std::vector<pid_t>& pids, std::string_view text) {
    while (!text.empty()) {
        pid_t pid = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pid);
        if (error != std::errc()) break;
        pids.push_back(pid);
        text.remove_prefix(static_cast<std::size_t>(end - text.data()));
        text.remove_prefix(std::min(text.find_first_not_of(' '), text.size()));
    }
}

}  // namespace

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> children;
    const unique_fd dir = detail::open_process_dir(pid);
    if (!dir) {
        if (detail::is_vanished(errno)) return children;
        throw_errno(errno, "open /proc/" + std::to_string(pid));
    }
    // A child belongs to the thread that created it: each thread lists its own.
    const int tasks = ::openat(dir.get(), "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tasks < 0) {
        if (detail::is_vanished(errno)) return children;
        throw_errno(errno, "open /proc/" + std::to_string(pid) + "/task");
    }
    for (pid_t tid : detail::numeric_entries(tasks)) {
        const std::string name = "task/" + std::to_string(tid) + "/children";
        detail::read_result text = detail::read_file_at(dir.get(), name.c_str());
        if (const int* error = std::get_if<int>(&text)) {
            if (detail::is_vanished(*error)) continue;  // that thread ended meanwhile
            throw_errno(*error, "read /proc/" + std::to_string(pid) + "/" + name);
        }
        append_pids(children, std::get<std::string>(text));
    }
    std::sort(children.begin(), children.end());
    return children;
}

}  // namespace brood::proc
