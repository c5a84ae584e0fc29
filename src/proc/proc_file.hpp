// Reading whole files under /proc/PID without racing against pid reuse: the process directory is
// opened once and every file is read relative to it, so all the fields come from one process.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::proc::detail {

// The contents of a file, or the errno that stopped reading it.
using read_result = std::variant<std::string, int>;

// True for the errors that mean "this process is gone" (or never existed).
bool is_vanished(int error) noexcept;

// Opens /proc/PID/NAME to be read again and again (stat_file, statm_file): empty when the process is
// gone; throws std::system_error naming the file for other failures (EMFILE).
unique_fd open_held(pid_t pid, const char* name);
// Reads such a file anew from offset 0 into buffer (its whole text must fit): nullopt when the
// process is gone (reaped); throws std::system_error naming the file for other failures.
std::optional<std::string_view> read_held(int fd, pid_t pid, const char* name, char (&buffer)[2048]);

// Opens /proc/PID as a directory. Empty with errno set when it cannot be opened.
unique_fd open_process_dir(pid_t pid);

// Reads the file name (relative to dir) to its end.
read_result read_file_at(int dir, const char* name);

}  // namespace brood::proc::detail
