// wait_status: what happened to a child. Exactly one of exited / killed / stopped / continued.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <signal.h>

namespace brood {

struct exited {
    int code;
    friend bool operator==(const exited&, const exited&) = default;
};
struct killed {
    int signal;
    bool core_dumped = false;
    friend bool operator==(const killed&, const killed&) = default;
};
struct stopped {
    int signal;
    friend bool operator==(const stopped&, const stopped&) = default;
};
struct continued {
    friend bool operator==(const continued&, const continued&) = default;
};

class wait_status {
public:
    using event_type = std::variant<brood::exited, brood::killed, brood::stopped, brood::continued>;

    // Implicit from each kind of event, so `wait_status s = brood::exited{0};` reads naturally.
    wait_status(event_type event) noexcept : event_(event) {}
    wait_status(brood::exited e) noexcept : event_(e) {}
    wait_status(brood::killed e) noexcept : event_(e) {}
    wait_status(brood::stopped e) noexcept : event_(e) {}
    wait_status(brood::continued e) noexcept : event_(e) {}
    // From the int that wait()/waitpid() fill in.
    static wait_status from_wait(int raw) noexcept;
    // From the siginfo_t that waitid() fills in (si_code CLD_EXITED, CLD_KILLED, ...).
    static wait_status from_siginfo(const siginfo_t& info) noexcept;

    const event_type& event() const noexcept { return event_; }

    // Exit code, only when the child exited normally.
    std::optional<int> code() const noexcept;
    // Signal that killed the child, only when it was killed.
    std::optional<int> signal() const noexcept;
    bool core_dumped() const noexcept;
    // Signal that stopped the child, only for a stop event.
    std::optional<int> stopped_signal() const noexcept;
    bool continued() const noexcept;

    bool success() const noexcept { return code() == 0; }
    // True for exited and killed: the child is gone. Stop and continue are not terminal.
    bool terminal() const noexcept;
    // The code a shell would report: the exit code, or 128 + signal when killed.
    // Stop/continue events have no shell code; this returns 128 + stop signal for them as a shell's $? does.
    int shell_code() const noexcept;
    // "exited with code 3", "killed by SIGKILL (core dumped)", "stopped by SIGTSTP", "continued".
    std::string to_string() const;

    friend bool operator==(const wait_status&, const wait_status&) = default;

private:
    event_type event_;
};

}  // namespace brood
