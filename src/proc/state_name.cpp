#include <brood/proc.hpp>

namespace brood::proc {

std::string_view state_name(char state) noexcept {
    switch (state) {
        case 'R': return "running";
        case 'S': return "sleeping";
        case 'D': return "disk sleep";
        case 'T': return "stopped";
        case 't': return "tracing stop";
        case 'Z': return "zombie";
        case 'X': return "dead";
        case 'I': return "idle";
        case 'P': return "parked";
        default: return "unknown";
    }
}

}  // namespace brood::proc
