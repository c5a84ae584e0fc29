// Errors. System calls that fail unexpectedly throw std::system_error carrying errno and what was
// being done. Spawning has its own error type that also names the program and the failing stage.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace brood {

// "ENOENT" for ENOENT; "errno 4095" for a value with no name.
std::string errno_name(int error);

// Throws std::system_error whose what() reads "<what>: ENOENT: No such file or directory".
[[noreturn]] void throw_errno(int error, std::string_view what);

// Where in the child a spawn failed. Setup steps happen in order before exec.
enum class spawn_stage {
    prepare,      // in the parent, before any child exists (pipe, open of a stdio file)
    clone,        // creating the child (fork/clone3 failed)
    signals,      // resetting signal dispositions and mask
    session,      // setsid
    terminal,     // ioctl(TIOCSCTTY): taking the controlling terminal
    process_group,// setpgid
    parent_death, // prctl(PR_SET_PDEATHSIG)
    rlimit,       // setrlimit
    groups,       // setgroups / setgid
    user,         // setuid
    chdir,        // chdir to the working directory
    umask,        // umask
    redirect,     // dup2 of a standard stream or an inherited fd
    close_fds,    // closing every other fd
    exec,         // execve of the program
};
std::string_view to_string(spawn_stage stage) noexcept;

// Spawning failed. No child is left behind. what() reads like:
//   spawn "/no/such/prog": exec failed: ENOENT: No such file or directory
//   spawn "ls": chdir "/missing" failed: ENOENT: No such file or directory
class spawn_error : public std::system_error {
public:
    spawn_error(std::string program, spawn_stage stage, int error, std::string detail = {});
    const std::string& program() const noexcept { return program_; }
    spawn_stage stage() const noexcept { return stage_; }
    int error() const noexcept { return code().value(); }

private:
    std::string program_;
    spawn_stage stage_;
};

}  // namespace brood
