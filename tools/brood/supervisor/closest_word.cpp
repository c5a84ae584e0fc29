#include "supervisor/closest_word.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace brood::supervisor {
namespace {

// Levenshtein distance, one row at a time.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::optional<std::string_view> closest_word(std::string_view word, std::span<const std::string_view> choices) {
    std::optional<std::string_view> best;
    std::size_t best_distance = std::min<std::size_t>(3, word.size());
    for (std::string_view choice : choices) {
        const std::size_t distance = edit_distance(word, choice);
        if (distance < best_distance) {
            best = choice;
            best_distance = distance;
        }
    }
    return best;
}

}  // namespace brood::supervisor
