// The brood command's exit codes, as a shell would read them.
#pragma once

namespace brood::cli {

inline constexpr int exit_usage = 2;              // bad arguments
inline constexpr int exit_failure = 1;            // tree: no such process
inline constexpr int exit_shutdown_timeout = 124; // brood up's shutdown budget ran out (as timeout says)
inline constexpr int exit_internal = 125;         // brood itself failed (as env, timeout and docker say)
inline constexpr int exit_not_executable = 126;   // PROGRAM found but could not be executed
inline constexpr int exit_not_found = 127;        // PROGRAM not found
// 128 + N when PROGRAM was killed by signal N: wait_status::shell_code().

}  // namespace brood::cli
