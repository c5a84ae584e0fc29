// How brood up keeps each instance's processes together: a cgroup per instance when it can, else
// process groups alone.
//
// With cgroup v2 mounted and brood's own cgroup writable, brood creates <its cgroup>/brood-up.<pid>
// and, below it, one cgroup per instance (<name>.<i>). A process cannot leave its cgroup by forking
// or by setsid(), so stopping an instance stops all of it, and pausing freezes all of it. Without
// them, signals go to the instance's process group, and what left the group is found as brood's
// adopted orphans when brood shuts down.
//
// brood-up.<pid> groups whose brood is gone (kill -9) are killed and removed when the next brood up
// starts in the same cgroup.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <brood/cgroup.hpp>

namespace brood::supervisor {

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
