#include "supervisor/live_prefix.hpp"

#include <array>

namespace brood::supervisor {

namespace {

// Cyan, yellow, green, magenta, blue and their bright forms: red is left for brood's own errors,
// black and white for terminals of either background.
constexpr std::array<std::string_view, 10> palette{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

}  // namespace

std::string make_prefix(std::string_view name, unsigned index, std::size_t width, int colour_index, bool colour, char bar) {
    std::string label(name);
    label += '.';
    label += std::to_string(index);
    if (label.size() < width) label.append(width - label.size(), ' ');
    label += ' ';
    label += bar;
    if (!colour) return label + ' ';
    const auto size = static_cast<int>(palette.size());
    const std::string_view code = palette[static_cast<std::size_t>(((colour_index % size) + size) % size)];
    return "\033[" + std::string(code) + 'm' + label + "\033[0m ";
}

}  // namespace brood::supervisor
