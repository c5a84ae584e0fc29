// How brood up keeps each instance's processes together: a cgroup per instance when it can, else
// process groups alone.
//
// With cgroup v2 mounted and brood's own cgroup writable, brood creates <its cgroup>/brood-up.<pid>
// and, below it, one cgroup per instance (<name>.<i>). A process cannot leave its cgroup by forking
// or by setsid(), so stopping an instance stops all of it, and pausing freezes all of it. Without
// them, signals go to the instance's process group, and what left the group is found as brood's
// adopted orphans when brood shuts down.
//
// When brood is killed (kill -9), a guard process removes its groups and what is left in them
// (cgroup_guard.hpp). brood-up.<pid> groups whose brood and guard are both gone are killed and
// removed when the next brood up starts in the same cgroup, or by brood up --cleanup.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <brood/cgroup.hpp>

namespace brood::supervisor {

// SIGKILL to every process in the group at dir and below, then, once they have ended (5 s at most),
// removes it and every group below it. False when it was gone already, or went meanwhile: a guard
// and a brood up starting may clean the same one. Throws std::system_error naming what could not
// be done.
bool remove_group(const std::filesystem::path& dir);

struct stale_sweep {
    std::vector<std::filesystem::path> removed;
    std::vector<std::string> failures;  // a group that could not be removed, and why
};
// Removes (remove_group) the brood-up.<pid> groups in cgroup dir whose brood is gone.
stale_sweep remove_stale_groups(const std::filesystem::path& dir);

class isolation {
public:
    using reporter = std::function<void(std::string_view)>;

    // Cleans up stale groups, then creates brood's own, when cgroups can be used.
    explicit isolation(const reporter& say);
    // Removes brood's group (the instances' groups are removed with their instances).
    ~isolation();
    isolation(const isolation&) = delete;
    isolation& operator=(const isolation&) = delete;

    bool uses_cgroups() const { return base_.has_value(); }
    // "cgroup" or "process group", as status reports it.
    std::string_view name() const { return base_ ? "cgroup" : "process group"; }
    // brood's own group; nullopt without cgroups.
    std::optional<std::filesystem::path> path() const;
    // A fresh group for one instance; nullopt without cgroups.
    std::optional<cgroup> for_instance(const std::string& name) const;

private:
    std::optional<cgroup> base_;
    reporter say_;
};

}  // namespace brood::supervisor
