#include "supervisor/isolation.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <system_error>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <brood/error.hpp>

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

// Until the group is empty or the deadline: cgroup.events raises POLLPRI when "populated" changes,
// and reading it (populated()) re-arms that, so no change between the two is missed.
void wait_until_empty(const cgroup& group, std::chrono::steady_clock::time_point until) {
    while (group.populated()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        pollfd ready{group.events_fd(), POLLPRI, 0};
        if (::poll(&ready, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return;
    }
}

// The groups below dir, then dir itself: rmdir needs a group without children.
void remove_tree(const std::filesystem::path& dir) {
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_directory()) remove_tree(entry.path());
    cgroup::open(dir).remove();
}

// ENOENT for a path, ENODEV for a file of a group that was removed while it was open.
bool is_gone(const std::system_error& failure) {
    return failure.code() == std::errc::no_such_file_or_directory || failure.code() == std::errc::no_such_device;
}

}  // namespace

bool remove_group(const std::filesystem::path& dir) {
    try {
        cgroup group = cgroup::open(dir);
        group.kill();
        wait_until_empty(group, std::chrono::steady_clock::now() + stale_kill_wait);
        remove_tree(dir);
        return true;
    } catch (const std::system_error& failure) {  // filesystem_error too
        if (!is_gone(failure)) throw;
        return false;
    }
}

stale_sweep remove_stale_groups(const std::filesystem::path& dir) {
    stale_sweep sweep;
    std::error_code error;
    const std::filesystem::directory_iterator entries(dir, error);
    if (error) sweep.failures.push_back("list " + dir.string() + ": " + errno_name(error.value()));
    for (const auto& entry : entries) {
        const std::optional<pid_t> owner = owner_of(entry.path().filename().string());
        if (!owner || process_exists(*owner)) continue;
        try {
            if (remove_group(entry.path())) sweep.removed.push_back(entry.path());
        } catch (const std::system_error& failure) {
            sweep.failures.push_back(failure.what());
        }
    }
    return sweep;
}

isolation::isolation(const reporter& say) : say_(say) {
    const std::optional<std::filesystem::path> current = current_cgroup();
    if (!current) {
        say_("no cgroup v2 hierarchy here: instances are isolated by process groups");
        return;
    }
    const stale_sweep sweep = remove_stale_groups(*current);
    for (const auto& group : sweep.removed) say_("removed " + group.string() + ", left by a brood up that is gone");
    for (const auto& failure : sweep.failures) say_("could not remove a stale group: " + failure);
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
