#include "support/process_state.hpp"

#include <chrono>
#include <thread>

#include <brood/proc.hpp>

namespace brood::testing {

char state_within_deadline(pid_t pid, char want) {
    using namespace std::chrono_literals;
    char state = '?';
    for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
        if (auto info = brood::proc::read_process(pid)) state = info->state;
        if (state == want) break;
        std::this_thread::sleep_for(1ms);
    }
    return state;
}

}  // namespace brood::testing
