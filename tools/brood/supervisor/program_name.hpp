// Program names: they appear on the command line (brood stop web), in log file names and in
// messages, so they are kept to characters that need no quoting anywhere.
#pragma once

#include <string_view>

namespace brood::supervisor {

// Letters, digits, '_' and '-'; not empty.
bool valid_program_name(std::string_view name);

inline constexpr std::string_view program_name_rule = "program names may contain only letters, digits, '_' and '-'";

}  // namespace brood::supervisor
