// Procfiles, as foreman and honcho read them: one "name: command" per line. Blank lines and lines
// whose first non-blank character is '#' are ignored. Each command runs through /bin/sh -c, so it
// may use the shell freely ($PORT, pipes, &&); every other setting takes its default.
#pragma once

#include <string>
#include <string_view>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// Problems are reported as "Procfile:LINE: message", every bad line of the file.
loaded_config parse_procfile(std::string_view text, const std::string& file_name);

}  // namespace brood::supervisor
