#include <brood/status.hpp>

#include <brood/signal.hpp>

#include <sys/wait.h>

namespace brood {

wait_status wait_status::from_wait(int raw) noexcept {
    if (WIFEXITED(raw)) return exited{WEXITSTATUS(raw)};
    if (WIFSIGNALED(raw)) return killed{WTERMSIG(raw), WCOREDUMP(raw) != 0};
    if (WIFSTOPPED(raw)) return stopped{WSTOPSIG(raw)};
    return brood::continued{};
}

wait_status wait_status::from_siginfo(const siginfo_t& info) noexcept {
    switch (info.si_code) {
        case CLD_EXITED: return exited{info.si_status};
        case CLD_KILLED: return killed{info.si_status, false};
        case CLD_DUMPED: return killed{info.si_status, true};
        case CLD_STOPPED:
        case CLD_TRAPPED: return stopped{info.si_status};
        default: return brood::continued{};  // CLD_CONTINUED
    }
}

std::optional<int> wait_status::code() const noexcept {
    if (auto* e = std::get_if<exited>(&event_)) return e->code;
    return std::nullopt;
}

std::optional<int> wait_status::signal() const noexcept {
    if (auto* k = std::get_if<killed>(&event_)) return k->signal;
    return std::nullopt;
}

bool wait_status::core_dumped() const noexcept {
    auto* k = std::get_if<killed>(&event_);
    return k != nullptr && k->core_dumped;
}

std::optional<int> wait_status::stopped_signal() const noexcept {
    if (auto* s = std::get_if<stopped>(&event_)) return s->signal;
    return std::nullopt;
}

bool wait_status::continued() const noexcept { return std::holds_alternative<brood::continued>(event_); }

bool wait_status::terminal() const noexcept {
    return std::holds_alternative<exited>(event_) || std::holds_alternative<killed>(event_);
}

int wait_status::shell_code() const noexcept {
    if (auto c = code()) return *c;
    if (auto s = signal()) return 128 + *s;
    if (auto s = stopped_signal()) return 128 + *s;
    return 0;
}

std::string wait_status::to_string() const {
    if (auto c = code()) return "exited with code " + std::to_string(*c);
    if (auto s = signal()) return "killed by " + signal_name(*s) + (core_dumped() ? " (core dumped)" : "");
    if (auto s = stopped_signal()) return "stopped by " + signal_name(*s);
    return "continued";
}

}  // namespace brood
