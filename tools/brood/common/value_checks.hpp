// Checks of option values shared by the subcommands: each returns what is wrong with the text
// (the message a usage error prints after the option's name), or "" when it is good.
#pragma once

#include <string>

namespace brood::cli {

std::string check_duration(const std::string& text);  // "5s", "500ms", "1.5s", "2m"
std::string check_signal(const std::string& text);    // "TERM", "SIGKILL", "9"

}  // namespace brood::cli
