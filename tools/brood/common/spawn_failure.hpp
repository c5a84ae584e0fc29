// What brood says, and exits with, when PROGRAM cannot be started: the shell's conventions.
#pragma once

#include <string>

#include <brood/error.hpp>

namespace brood::cli {

struct spawn_failure {
    int exit_code;
    std::string message;  // one line, without the newline: "brood: nosuch: not found"
};

// 127 when PROGRAM is not found, 126 when found but not executable, 125 when a setup step failed.
spawn_failure describe(const spawn_error& error);

}  // namespace brood::cli
