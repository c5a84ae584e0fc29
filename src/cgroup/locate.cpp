// Finding the cgroup v2 hierarchy and this process's place in it, from /proc/self.
#include <brood/cgroup.hpp>

#include <fcntl.h>

#include <string>
#include <string_view>
#include <variant>

#include "proc/proc_file.hpp"

namespace brood {

namespace {

struct mount_entry {
    std::filesystem::path root;         // the hierarchy's directory that is mounted ("/" mostly)
    std::filesystem::path mount_point;
};

// mountinfo writes space, tab, newline and backslash in paths as \040 \011 \012 \134.
std::string unescape(std::string_view field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            const std::string_view digits = field.substr(i + 1, 3);
            if (digits.find_first_not_of("01234567") == std::string_view::npos) {
                out += static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += field[i];
    }
    return out;
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    while (!line.empty()) {
        const std::size_t start = line.find_first_not_of(' ');
        if (start == std::string_view::npos) break;
        line.remove_prefix(start);
        const std::size_t end = line.find(' ');
        out.push_back(line.substr(0, end));
        line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    }
    return out;
}

std::optional<std::string> read_self(const char* file) {
    auto text = proc::detail::read_file_at(AT_FDCWD, file);
    if (auto* contents = std::get_if<std::string>(&text)) return std::move(*contents);
    return std::nullopt;
}

// A mountinfo line: ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE ...
std::optional<mount_entry> find_cgroup2_mount() {
    const auto mountinfo = read_self("/proc/self/mountinfo");
    if (!mountinfo) return std::nullopt;
    std::string_view rest = *mountinfo;
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        const auto fields = words(rest.substr(0, end));
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        std::size_t separator = 6;
        while (separator < fields.size() && fields[separator] != "-") ++separator;
        if (separator + 1 < fields.size() && fields[separator + 1] == "cgroup2")
            return mount_entry{unescape(fields[3]), unescape(fields[4])};
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::filesystem::path> cgroup2_mount() {
    if (auto entry = find_cgroup2_mount()) return entry->mount_point;
    return std::nullopt;
}

std::optional<std::filesystem::path> current_cgroup() {
    const auto entry = find_cgroup2_mount();
    const auto membership = read_self("/proc/self/cgroup");
    if (!entry || !membership) return std::nullopt;
    std::string_view rest = *membership;
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (!line.starts_with("0::")) continue;
        // Relative to the mounted root; a cgroup outside it (another cgroup namespace: "/../x")
        // cannot be reached through this mount.
        const std::filesystem::path own = line.substr(3);
        const std::filesystem::path relative = own.lexically_relative(entry->root);
        if (relative.empty() || *relative.begin() == "..") return std::nullopt;
        return relative == "." ? entry->mount_point : entry->mount_point / relative;
    }
    return std::nullopt;
}

}  // namespace brood
