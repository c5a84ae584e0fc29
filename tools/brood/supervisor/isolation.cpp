#include "supervisor/isolation.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace brood::supervisor {

namespace {

constexpr std::string_view group_prefix = "brood-up.";
// How long a stale group's processes get to die after cgroup.kill (they cannot ignore SIGKILL).
constexpr std::chrono::seconds stale_kill_wait{5};

// The pid in "brood-up.<pid>"; nullopt for any other name.
std::optional<pid_t> owner_of(std::string_view name) {
    if (!name.starts_with(group_prefix)) return std::nullopt;
    name.remove_prefix(group_prefix.size());
    pid_t pid = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc() || end != name.data() + name.size() || pid <= 0) return std::nullopt;
    return pid;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Kills everything in a group and below, waits for it to empty, and removes it and its children.
void remove_stale(const std::filesystem::path& dir) {
    cgroup group = cgroup::open(dir);
    group.kill();
    const auto until = std::chrono::steady_clock::now() + stale_kill_wait;
    while (group.populated() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_directory()) cgroup::open(entry.path()).remove();
    group.remove();
}

}  // namespace

isolation::isolation(const reporter& say) : say_(say) {
    const std::optional<std::filesystem::path> current = current_cgroup();
    if (!current) {
        say_("no cgroup v2 hierarchy here: instances are isolated by process groups");
        return;
    }
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(*current, error)) {
        const std::optional<pid_t> owner = owner_of(entry.path().filename().string());
        if (!owner || process_exists(*owner)) continue;
        try {
            remove_stale(entry.path());
            say_("removed " + entry.path().string() + ", left by a brood up that is gone");
        } catch (const std::system_error& failure) {
            say_(std::string("could not remove a stale group: ") + failure.what());
        }
    }
    try {
        base_ = cgroup::create(*current / (std::string(group_prefix) + std::to_string(::getpid())));
    } catch (const std::system_error& failure) {
        // Not writable here (no delegation, a read-only mount): process groups it is, said once.
        say_(std::string("cannot make a cgroup (") + failure.what() + "): instances are isolated by process groups");
    }
}

isolation::~isolation() {
    if (!base_) return;
    try {
        base_->remove();
    } catch (const std::system_error& failure) {
        say_(failure.what());
    }
}

std::optional<std::filesystem::path> isolation::path() const {
    if (!base_) return std::nullopt;
    return base_->path();
}

std::optional<cgroup> isolation::for_instance(const std::string& name) const {
    if (!base_) return std::nullopt;
    return cgroup::create(base_->path() / name);
}

}  // namespace brood::supervisor
