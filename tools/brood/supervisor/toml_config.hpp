// brood.toml: one [programs.NAME] table per program (docs/config.md lists every key).
#pragma once

#include <string>
#include <string_view>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// Parses and checks text as brood.toml, reporting every problem, not only the first, as
// "FILE:LINE:COLUMN: KEY: what was expected" (a TOML syntax error stops the parse: it is alone).
// Program directories are kept as written; load_config resolves them.
loaded_config parse_toml_config(std::string_view text, const std::string& file_name);

}  // namespace brood::supervisor
