#include "supervisor/problem.hpp"

#include <algorithm>
#include <tuple>

namespace brood::supervisor {

problem about_file(std::string file, std::string message) {
    problem found;
    found.where.file = std::move(file);
    found.message = std::move(message);
    return found;
}

std::string to_string(const problem& p) {
    std::string text = p.where.file;
    if (p.where.line != 0) {
        text += ':' + std::to_string(p.where.line);
        if (p.where.column != 0) text += ':' + std::to_string(p.where.column);
    }
    return text + ": " + p.message;
}

void sort_by_position(std::vector<problem>& problems) {
    std::stable_sort(problems.begin(), problems.end(), [](const problem& a, const problem& b) {
        return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
    });
}

}  // namespace brood::supervisor
