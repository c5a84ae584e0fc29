// A snapshot of processes as a forest: which ones brood tree shows, with their memory.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <sys/types.h>

#include <brood/proc.hpp>

#include "tree/cow_sharing.hpp"

namespace brood::cli {

struct tree_node {
    proc::process_info info;
    std::optional<proc::memory_usage> memory;  // nullopt for zombies and kernel threads
    std::optional<cow_share> cow;               // shared copy-on-write with the parent
    std::vector<std::size_t> children;          // indexes into process_forest::nodes
    std::size_t zombie_children = 0;
};

struct process_forest {
    std::vector<tree_node> nodes;
    std::vector<std::size_t> roots;
};

// What to show: the tree under one process, a session's processes with their descendants, or all.
struct tree_selection {
    enum class kind { process, session, all };
    kind what = kind::session;
    pid_t id = 0;  // the pid or the session id
};

// Reads /proc once. A process that vanishes meanwhile is left out. nullopt when selection names a
// process that does not exist.
std::optional<process_forest> snapshot(const tree_selection& selection);

}  // namespace brood::cli
