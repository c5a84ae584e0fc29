// Environment files in the dotenv format (KEY=value lines), as brood.toml's env_file and the .env
// beside a Procfile give them. docs/config.md writes down every rule this parser follows.
//
//   env_file_content read = read_env_file("/srv/app/.env", ".env");
//   for (const problem& p : read.problems) ...     // ".env:3: expected KEY=value"
//   for (const auto& [key, value] : read.variables) ...
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/problem.hpp"

namespace brood::supervisor {

// Larger files are refused: an environment file is a few lines, and a larger one is a mistake
// (a log or a binary named by the wrong path) that would otherwise land in every program.
constexpr std::size_t max_env_file_size = 1024 * 1024;

struct env_file_content {
    std::map<std::string, std::string> variables;  // a key given twice keeps its later value
    std::vector<problem> problems;                 // "FILE:LINE: ..."; none when the file was read
};

// Parses text as an env file; shown_name is the file's name in problems.
env_file_content parse_env_file(std::string_view text, const std::string& shown_name);

// Reads and parses file: one that cannot be read, is larger than max_env_file_size, or holds a NUL
// byte (binary) is one problem.
env_file_content read_env_file(const std::filesystem::path& file, const std::string& shown_name);

}  // namespace brood::supervisor
