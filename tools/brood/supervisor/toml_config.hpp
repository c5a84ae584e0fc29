// brood.toml: one [programs.NAME] table per program (docs/config.md lists every key).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// Parses and checks text as brood.toml, reporting every problem, not only the first, as
// "FILE:LINE:COLUMN: KEY: what was expected" (a TOML syntax error stops the parse: it is alone).
// Program directories are kept as written; load_config resolves them. env_file paths are taken from
// file_name's directory; ${VAR} in values is expanded from brood_environment, then the env files,
// then the program's environment table (docs/config.md: "Variables").
loaded_config parse_toml_config(std::string_view text, const std::string& file_name,
                                const std::map<std::string, std::string>& brood_environment = {});

}  // namespace brood::supervisor
