// brood.toml text that toml++ 3.3.0 (Debian's) must never see. Its tables for non-ASCII whitespace
// are wrong: asked whether U+0403 or many other characters are whitespace it reaches
// TOML_UNREACHABLE, which is undefined behaviour (found by fuzz/fuzz_config). toml++ asks that
// question only outside strings and comments, and in a multi-line basic string just after a
// backslash, so those are the places refused here; non-ASCII text inside strings and comments is
// fine.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "supervisor/problem.hpp"

namespace brood::supervisor {

// The first place in text that toml++ cannot be given, as a problem naming it (the column counts
// characters, as toml++'s do); nullopt when the whole text is safe to parse.
std::optional<problem> find_unsafe_toml_text(std::string_view text, const std::string& file_name);

}  // namespace brood::supervisor
