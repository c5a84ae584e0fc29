#include "supervisor/program_diff.hpp"

#include <algorithm>

namespace brood::supervisor {

namespace {

const program_config* find(const std::vector<program_config>& programs, const std::string& name) {
    const auto at = std::find_if(programs.begin(), programs.end(), [&](const program_config& p) { return p.name == name; });
    return at == programs.end() ? nullptr : &*at;
}

program_config without_positions(program_config program) {
    program.where = {};
    for (dependency& d : program.depends_on) d.where = {};
    return program;
}

// What a change restarts the program for: everything but where it is written, and its health
// check, which only the supervisor runs.
program_config what_restarts(program_config program) {
    program = without_positions(std::move(program));
    program.health.reset();
    return program;
}

}  // namespace

program_diff diff_programs(const std::vector<program_config>& running, const std::vector<program_config>& next) {
    program_diff diff;
    for (const program_config& now : running) {
        const program_config* then = find(next, now.name);
        if (then == nullptr)
            diff.removed.push_back(now.name);
        else if (without_positions(now) == without_positions(*then))
            diff.unchanged.push_back(now.name);
        else if (what_restarts(now) == what_restarts(*then))
            diff.updated.push_back(now.name);
        else
            diff.changed.push_back(now.name);
    }
    for (const program_config& then : next)
        if (find(running, then.name) == nullptr) diff.added.push_back(then.name);
    return diff;
}

}  // namespace brood::supervisor
