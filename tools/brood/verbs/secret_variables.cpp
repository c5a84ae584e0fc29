#include "verbs/secret_variables.hpp"

#include <array>
#include <cctype>
#include <string>

namespace brood::cli {

bool looks_secret(std::string_view name) {
    std::string upper(name);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    constexpr std::array<std::string_view, 4> words{"TOKEN", "PASSWORD", "SECRET", "KEY"};
    for (std::string_view word : words) {
        const std::string_view text(upper);
        if (text == word || (text.ends_with(word) && text[text.size() - word.size() - 1] == '_')) return true;
    }
    return false;
}

}  // namespace brood::cli
