#include "common/spawn_failure.hpp"

#include <cerrno>

#include <fmt/core.h>
#include <unistd.h>

#include "common/exit_codes.hpp"

namespace brood::cli {

spawn_failure describe(const spawn_error& error) {
    const std::string& program = error.program();
    if (error.stage() != spawn_stage::exec)
        return {exit_internal, fmt::format("brood: {}", error.what())};
    switch (error.error()) {
        case ENOENT:
            // A script whose #! interpreter is missing also fails with ENOENT; the shell calls that
            // "bad interpreter" and exits 126, since the program itself was found.
            if (program.find('/') != std::string::npos && ::access(program.c_str(), F_OK) == 0)
                return {exit_not_executable, fmt::format("brood: {}: bad interpreter: not found", program)};
            return {exit_not_found, fmt::format("brood: {}: not found", program)};
        case EACCES:
            return {exit_not_executable, fmt::format("brood: {}: permission denied", program)};
        default:
            return {exit_not_executable,
                    fmt::format("brood: {}: cannot execute: {}", program, errno_name(error.error()))};
    }
}

}  // namespace brood::cli
