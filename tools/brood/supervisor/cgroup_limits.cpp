#include "supervisor/cgroup_limits.hpp"

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {
namespace {

constexpr unsigned cpu_period_us = 100000;

// The words of a one-line cgroup file ("cpu memory pids"); empty when it cannot be read.
std::vector<std::string> words_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<std::string> words;
    for (std::string word; in >> word;) words.push_back(word);
    return words;
}

bool contains(const std::vector<std::string>& words, std::string_view word) {
    for (const std::string& w : words)
        if (w == word) return true;
    return false;
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& w : words) text += (text.empty() ? "" : " ") + w;
    return text.empty() ? "none" : text;
}

void write_file(const std::filesystem::path& file, const std::string& value) {
    const unique_fd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        throw_errno(errno, "write \"" + value + "\" to " + file.string());
}

}  // namespace

std::string_view controller_of(std::string_view file) { return file.substr(0, file.find('.')); }

std::optional<std::string> cpu_max_value(std::string_view text) {
    if (text == "max") return "max " + std::to_string(cpu_period_us);
    if (!text.ends_with('%')) return std::nullopt;
    double percent = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size() - 1, percent);
    if (error != std::errc() || end != text.data() + text.size() - 1 || percent < 1 || percent > 100000) return std::nullopt;
    return std::to_string(static_cast<unsigned long>(percent * cpu_period_us / 100)) + " " + std::to_string(cpu_period_us);
}

std::optional<std::string> why_no_controller(std::string_view controller, const std::optional<std::filesystem::path>& base) {
    if (!base) return "needs cgroup v2, and brood is in none";
    if (::access((*base / "cgroup.subtree_control").c_str(), W_OK) != 0)
        return "needs brood's cgroup " + base->string() + " to be writable (root, or a delegated subtree), and it is not";
    const std::vector<std::string> offered = words_of(*base / "cgroup.controllers");
    if (!contains(offered, controller))
        return "the " + std::string(controller) + " controller is not available in " + (*base / "cgroup.controllers").string() +
               " (" + joined(offered) + ")";
    const bool enabled = contains(words_of(*base / "cgroup.subtree_control"), controller);
    const bool root = !std::filesystem::exists(*base / "cgroup.events");  // the root cgroup has none
    if (!enabled && !root && !words_of(*base / "cgroup.procs").empty())
        return "the " + std::string(controller) + " controller is not enabled in " +
               (*base / "cgroup.subtree_control").string() +
               ", and brood cannot enable it there while that cgroup holds processes (brood's own among them)";
    return std::nullopt;
}

void enable_controller(const std::filesystem::path& dir, std::string_view controller) {
    if (contains(words_of(dir / "cgroup.subtree_control"), controller)) return;
    write_file(dir / "cgroup.subtree_control", "+" + std::string(controller));
}

void write_cgroup_limits(const std::filesystem::path& dir, const std::vector<cgroup_limit>& limits) {
    for (const cgroup_limit& limit : limits) write_file(dir / limit.file, limit.value);
}

}  // namespace brood::supervisor
