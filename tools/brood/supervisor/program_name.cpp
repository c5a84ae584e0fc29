#include "supervisor/program_name.hpp"

#include <algorithm>

namespace brood::supervisor {

bool valid_program_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

}  // namespace brood::supervisor
