#include "supervisor/validate.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "supervisor/closest_word.hpp"

namespace brood::supervisor {
namespace {

// The dependency graph as indices; depends_on entries naming no program are left out.
struct graph {
    std::vector<std::vector<std::size_t>> edges;  // edges[i][k]: program i's k-th known dependency
    std::vector<std::vector<const dependency*>> entries;  // where each edge was written

    explicit graph(const std::vector<program_config>& programs) : edges(programs.size()), entries(programs.size()) {
        std::map<std::string_view, std::size_t> index;
        for (std::size_t i = 0; i < programs.size(); ++i) index.try_emplace(programs[i].name, i);
        for (std::size_t i = 0; i < programs.size(); ++i)
            for (const dependency& d : programs[i].depends_on)
                if (auto it = index.find(d.name); it != index.end()) {
                    edges[i].push_back(it->second);
                    entries[i].push_back(&d);
                }
    }
};

enum class mark : unsigned char { unvisited, on_path, done };

// Depth-first search; an edge back to a program still on the path closes a cycle.
struct cycle_finder {
    cycle_finder(const std::vector<program_config>& programs, const graph& g)
        : programs(programs), g(g), marks(programs.size(), mark::unvisited) {}

    const std::vector<program_config>& programs;
    const graph& g;
    std::vector<mark> marks;
    std::vector<std::size_t> path;  // the programs being visited, each depending on the next
    std::vector<problem> problems;

    void visit(std::size_t from) {
        marks[from] = mark::on_path;
        path.push_back(from);
        for (std::size_t k = 0; k < g.edges[from].size(); ++k) {
            const std::size_t to = g.edges[from][k];
            if (marks[to] == mark::unvisited) visit(to);
            else if (marks[to] == mark::on_path) report(from, to, *g.entries[from][k]);
        }
        path.pop_back();
        marks[from] = mark::done;
    }

    // Names the cycle from the program whose depends_on closes it: "a -> b -> ... -> a".
    void report(std::size_t from, std::size_t to, const dependency& entry) {
        std::string cycle = programs[from].name;
        for (auto it = std::find(path.begin(), path.end(), to); it != path.end(); ++it)
            cycle += " -> " + programs[*it].name;
        problems.push_back({entry.where, "programs." + programs[from].name + ".depends_on: dependency cycle: " + cycle});
    }
};

}  // namespace

std::vector<problem> check_dependencies(const std::vector<program_config>& programs) {
    std::vector<problem> problems;
    std::vector<std::string_view> names;
    for (const program_config& p : programs) names.push_back(p.name);
    for (const program_config& p : programs)
        for (const dependency& d : p.depends_on) {
            const auto known = std::find(names.begin(), names.end(), d.name);
            if (known != names.end()) {
                // Waiting for a health check that never runs would wait for ever.
                const program_config& needed = programs[static_cast<std::size_t>(known - names.begin())];
                if (d.condition == dependency_condition::healthy && !needed.health)
                    problems.push_back({d.where, "programs." + p.name + ".depends_on." + d.name + ": \"healthy\" needs a "
                                                 "health check, and programs." + d.name + " has none"});
                continue;
            }
            std::string message = "programs." + p.name + ".depends_on: unknown program \"" + d.name + "\"";
            if (auto near = closest_word(d.name, names)) message += " (did you mean \"" + std::string(*near) + "\"?)";
            problems.push_back({d.where, std::move(message)});
        }

    const graph g(programs);
    cycle_finder finder(programs, g);
    for (std::size_t i = 0; i < programs.size(); ++i)
        if (finder.marks[i] == mark::unvisited) finder.visit(i);
    problems.insert(problems.end(), finder.problems.begin(), finder.problems.end());
    sort_by_position(problems);
    return problems;
}

std::vector<std::size_t> start_order(const std::vector<program_config>& programs) {
    const graph g(programs);
    std::vector<mark> marks(programs.size(), mark::unvisited);
    std::vector<std::size_t> order;
    // Post-order: a program is placed once everything it depends on is.
    auto place = [&](auto& self, std::size_t i) -> void {
        marks[i] = mark::on_path;
        for (std::size_t dep : g.edges[i])
            if (marks[dep] == mark::unvisited) self(self, dep);
        marks[i] = mark::done;
        order.push_back(i);
    };
    for (std::size_t i = 0; i < programs.size(); ++i)
        if (marks[i] == mark::unvisited) place(place, i);
    return order;
}

}  // namespace brood::supervisor
