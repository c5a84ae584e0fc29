#include "cgroup/pid_list.hpp"

#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>
#include <variant>

#include <brood/error.hpp>

#include "proc/proc_file.hpp"

namespace brood::detail {

std::vector<pid_t> read_cgroup_procs(int dir, const std::filesystem::path& dir_path, bool missing_is_empty) {
    auto text = proc::detail::read_file_at(dir, "cgroup.procs");
    if (const int* error = std::get_if<int>(&text)) {
        if (missing_is_empty && (*error == ENOENT || *error == ENODEV)) return {};
        throw_errno(*error, "read \"" + (dir_path / "cgroup.procs").string() + "\"");
    }
    std::vector<pid_t> pids;
    std::string_view rest = std::get<std::string>(text);
    while (!rest.empty()) {
        pid_t pid = 0;
        const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
        if (error == std::errc() && pid > 0) pids.push_back(pid);
        const std::size_t newline = rest.find('\n');
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    }
    return pids;
}

}  // namespace brood::detail
