#include <brood/error.hpp>

#include <string.h>

namespace brood {

std::string errno_name(int error) {
    if (const char* name = ::strerrorname_np(error)) return name;
    return "errno " + std::to_string(error);
}

void throw_errno(int error, std::string_view what) {
    throw std::system_error(error, std::system_category(), std::string(what) + ": " + errno_name(error));
}

std::string_view to_string(spawn_stage stage) noexcept {
    switch (stage) {
        case spawn_stage::prepare: return "prepare";
        case spawn_stage::clone: return "clone";
        case spawn_stage::signals: return "signal reset";
        case spawn_stage::session: return "setsid";
        case spawn_stage::terminal: return "controlling terminal";
        case spawn_stage::process_group: return "setpgid";
        case spawn_stage::parent_death: return "die-with-parent";
        case spawn_stage::rlimit: return "setrlimit";
        case spawn_stage::groups: return "setgid";
        case spawn_stage::user: return "setuid";
        case spawn_stage::chdir: return "chdir";
        case spawn_stage::umask: return "umask";
        case spawn_stage::redirect: return "redirect";
        case spawn_stage::close_fds: return "close fds";
        case spawn_stage::exec: return "exec";
    }
    return "unknown stage";
}

spawn_error::spawn_error(std::string program, spawn_stage stage, int error, std::string detail)
    : std::system_error(error, std::system_category(),
                        "spawn \"" + program + "\": " + std::string(to_string(stage)) +
                            (detail.empty() ? "" : " " + detail) + " failed: " + errno_name(error)),
      program_(std::move(program)),
      stage_(stage) {}

}  // namespace brood
