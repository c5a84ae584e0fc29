#include "tree/process_tree.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace brood::cli {

namespace {

struct all_processes {
    std::vector<proc::process_info> infos;
    std::unordered_map<pid_t, std::size_t> index;  // pid -> position in infos
    std::unordered_map<pid_t, std::vector<pid_t>> children;
};

all_processes read_all() {
    all_processes all;
    for (pid_t pid : proc::all_processes()) {
        std::optional<proc::process_info> info = proc::read_process(pid);
        if (!info) continue;
        all.index[pid] = all.infos.size();
        all.infos.push_back(std::move(*info));
    }
    for (const proc::process_info& info : all.infos) all.children[info.ppid].push_back(info.pid);
    for (auto& [parent, kids] : all.children) std::sort(kids.begin(), kids.end());
    return all;
}

struct builder {
    const all_processes& all;
    process_forest& forest;
    cow_sharing cow;
    std::unordered_set<pid_t> seen;  // a pid reused while /proc was read must not make a cycle
};

// Copies pid and its descendants into the forest, depth first; returns pid's node.
std::size_t add_subtree(builder& b, pid_t pid) {
    const all_processes& all = b.all;
    process_forest& forest = b.forest;
    const std::size_t at = forest.nodes.size();
    forest.nodes.push_back(tree_node{all.infos[all.index.at(pid)], {}, {}, {}, 0});
    {
        tree_node& node = forest.nodes[at];
        if (node.info.state != 'Z') {
            node.memory = proc::read_memory(pid);
            node.cow = b.cow.with_parent(pid, node.info.ppid);
        }
    }
    if (const auto kids = all.children.find(pid); kids != all.children.end()) {
        for (pid_t kid : kids->second) {
            if (!b.seen.insert(kid).second) continue;
            const std::size_t child = add_subtree(b, kid);
            forest.nodes[at].children.push_back(child);
            if (forest.nodes[child].info.state == 'Z') ++forest.nodes[at].zombie_children;
        }
    }
    return at;
}

}  // namespace

std::optional<process_forest> snapshot(const tree_selection& selection) {
    const all_processes all = read_all();
    process_forest forest;
    std::vector<pid_t> roots;
    switch (selection.what) {
        case tree_selection::kind::process:
            if (!all.index.contains(selection.id)) return std::nullopt;
            roots.push_back(selection.id);
            break;
        case tree_selection::kind::session:
        case tree_selection::kind::all:
            // Roots: the selected processes whose parent is not selected (for all: pid 1, kthreadd).
            for (const proc::process_info& info : all.infos) {
                const auto selected = [&](const proc::process_info& p) {
                    return selection.what == tree_selection::kind::all || p.sid == selection.id;
                };
                if (!selected(info)) continue;
                const auto parent = all.index.find(info.ppid);
                if (parent == all.index.end() || !selected(all.infos[parent->second])) roots.push_back(info.pid);
            }
            break;
    }
    builder b{all, forest, {}, {}};
    for (pid_t root : roots)
        if (b.seen.insert(root).second) forest.roots.push_back(add_subtree(b, root));
    return forest;
}

}  // namespace brood::cli
