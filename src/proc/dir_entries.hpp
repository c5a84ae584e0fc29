// Listing the numeric entries (pids, tids) of a directory under /proc.
#pragma once

#include <vector>

#include <sys/types.h>

namespace brood::proc::detail {

// Entries of the directory open at dir whose names are decimal numbers, ascending. Takes over dir
// (closes it). A directory that vanished reads as empty; other errors throw std::system_error.
std::vector<pid_t> numeric_entries(int dir);

}  // namespace brood::proc::detail
