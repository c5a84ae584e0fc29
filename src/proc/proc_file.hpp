// Reading whole files under /proc/PID without racing against pid reuse: the process directory is
// opened once and every file is read relative to it, so all the fields come from one process.
#pragma once

#include <string>
#include <variant>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::proc::detail {

// The contents of a file, or the errno that stopped reading it.
using read_result = std::variant<std::string, int>;

// True for the errors that mean "this process is gone" (or never existed).
bool is_vanished(int error) noexcept;

// Opens /proc/PID as a directory. Empty with errno set when it cannot be opened.
unique_fd open_process_dir(pid_t pid);

// Reads the file name (relative to dir) to its end.
read_result read_file_at(int dir, const char* name);

}  // namespace brood::proc::detail
