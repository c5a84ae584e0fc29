#include "supervisor/rotated_log.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <system_error>

namespace brood::supervisor {

std::filesystem::path rotated_path(const std::filesystem::path& file, std::uint64_t seq) {
    std::filesystem::path result = file;
    result += "." + std::to_string(seq);
    return result;
}

std::vector<std::uint64_t> rotated_sequence(const std::filesystem::path& file) {
    const std::string prefix = file.filename().string() + ".";
    const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
    std::vector<std::uint64_t> found;
    std::error_code error;
    for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string_view digits = std::string_view(name).substr(prefix.size());
        std::uint64_t seq = 0;
        const auto [end_of_number, failed] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
        if (failed != std::errc() || end_of_number != digits.data() + digits.size()) continue;
        if (seq == 0 || digits != std::to_string(seq)) continue;
        found.push_back(seq);
    }
    std::sort(found.begin(), found.end());
    return found;
}

}  // namespace brood::supervisor
