// "did you mean ...?" for a misspelt key or program name.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace brood::supervisor {

// The choice nearest to word by edit distance, when it is near enough to be a likely typo:
// at most 2 edits, and fewer than the word has characters. The first such choice wins a tie.
std::optional<std::string_view> closest_word(std::string_view word, std::span<const std::string_view> choices);

}  // namespace brood::supervisor
