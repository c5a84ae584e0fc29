// /proc readers: a process's state, family, command line and memory, including how much of its
// memory is still shared copy-on-write.
//
//   if (auto p = brood::proc::read_process(pid)) std::printf("%c %s\n", p->state, p->comm.c_str());
//   if (auto m = brood::proc::read_memory(pid)) m->private_dirty;  // pages this process has copied
//
// A process can end at any moment: every reader returns nullopt (or an empty list) for a process
// that does not exist or vanished while being read, and never throws for that. All the fields of
// one process_info come from the same process even if its pid is reused meanwhile. Other failures
// (out of file descriptors, a malformed /proc) throw std::system_error or std::runtime_error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace brood::proc {

struct process_info {
    pid_t pid = 0;
    // R running, S sleeping, D disk sleep, T stopped, t tracing stop, Z zombie, X dead, I idle, P parked
    char state = '?';
    pid_t ppid = 0;
    pid_t pgid = 0;
    pid_t sid = 0;
    int threads = 0;
    std::uint64_t start_time = 0;      // clock ticks after boot; with pid, names one process for good
    std::string comm;                  // the short name from /proc/PID/stat
    // Empty for zombies and kernel threads, and for a moment inside execve: a program just spawned
    // may not show its new command line yet (the spawner is released before the kernel sets it).
    std::vector<std::string> cmdline;
    std::uint64_t rss_bytes = 0;
    // CPU time spent so far, user and system, in clock ticks (sysconf(_SC_CLK_TCK) a second); its
    // children's, even those reaped, are not counted.
    std::uint64_t cpu_ticks = 0;
};

// "running", "sleeping", "disk sleep", "stopped", "tracing stop", "zombie", "dead", "idle", "parked";
// "unknown" for any other letter.
std::string_view state_name(char state) noexcept;

// From smaps_rollup, in bytes. Shared pages are mapped by more than one process: after fork,
// untouched memory is shared with the parent; each page a child writes moves to private_dirty.
struct memory_usage {
    std::uint64_t rss = 0;
    std::uint64_t pss = 0;
    std::uint64_t shared_clean = 0;
    std::uint64_t shared_dirty = 0;
    std::uint64_t private_clean = 0;
    std::uint64_t private_dirty = 0;
    std::uint64_t swap = 0;
    std::uint64_t shared() const noexcept { return shared_clean + shared_dirty; }
    std::uint64_t private_total() const noexcept { return private_clean + private_dirty; }
};

// nullopt when the process does not exist (or vanished while being read).
std::optional<process_info> read_process(pid_t pid);
// As read_process, from /proc/PID/stat alone (cmdline left empty), in three system calls: for
// sampling many processes often, as a supervisor's status does.
std::optional<process_info> read_stat(pid_t pid);
// nullopt when the process does not exist or its memory cannot be read (zombie, no permission).
std::optional<memory_usage> read_memory(pid_t pid);
// Children of pid (of all its threads), ascending, from /proc/PID/task/*/children. Empty when pid
// does not exist.
std::vector<pid_t> children_of(pid_t pid);
// Every pid in /proc, ascending.
std::vector<pid_t> all_processes();

}  // namespace brood::proc
