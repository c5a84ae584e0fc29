// A file of a few lines that the kernel writes anew for each read from offset 0 (a cgroup's
// memory.current, cpu.stat, memory.events): one pread into the caller's buffer.
//
//   char buffer[small_file_size];
//   const std::string_view text = read_small_file(file, buffer);   // empty: no file, or unreadable
#pragma once

#include <cstddef>
#include <string_view>

#include <brood/unique_fd.hpp>

namespace brood::supervisor {

inline constexpr std::size_t small_file_size = 4096;

// The file's first small_file_size bytes, or empty when file is empty (not opened) or cannot be read.
std::string_view read_small_file(const unique_fd& file, char (&buffer)[small_file_size]);

}  // namespace brood::supervisor
