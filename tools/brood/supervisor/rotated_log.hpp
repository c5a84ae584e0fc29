// The files of a rotated log (docs/config.md, "Log files"). FILE is the one written now. A rotation
// renames it to FILE.SEQ, SEQ one above the newest rotated file's (1 for the first), and deletes
// FILE.(SEQ - keep): one rename and one deletion whatever keep is. Read in order, the log is every
// FILE.SEQ by rising SEQ, then FILE.
//
//   for (std::uint64_t seq : rotated_sequence(file)) print(rotated_path(file, seq));  // oldest first
//   print(file);
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace brood::supervisor {

std::filesystem::path rotated_path(const std::filesystem::path& file, std::uint64_t seq);

// The SEQ of each FILE.SEQ beside file, rising; empty when there is none or the directory cannot
// be read. Only names brood writes count: FILE.1 does, FILE.01 and FILE.1.gz do not.
std::vector<std::uint64_t> rotated_sequence(const std::filesystem::path& file);

}  // namespace brood::supervisor
