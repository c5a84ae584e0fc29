// Lifecycle events as lines: for people (brood watch, brood run --events) or as JSON lines
// (brood watch --json). Each line is written and flushed as the event happens.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <sys/types.h>

#include <brood/status.hpp>

namespace brood::cli {

struct lifecycle_event {
    enum class kind {
        started,      // a process began: the program, or a descendant (brood watch --tree)
        exec,         // a descendant ran a new program
        stopped,
        continued,
        exited,
        killed,
        forwarded,    // brood passed a signal on to the program
        terminating,  // the program has ended; brood signals the descendants left behind
        lost,         // the kernel dropped events (brood watch --tree rescans /proc)
    };
    kind what = kind::started;
    std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
    pid_t pid = 0;
    pid_t parent = 0;          // 0 when unknown
    int code = 0;              // exited
    int signal = 0;            // stopped, killed, forwarded, terminating
    bool core_dumped = false;  // killed
    bool adopted = false;      // reaped by brood as an orphan (brood is its subreaper)
    bool group = false;        // forwarded to the program's process group
    std::size_t count = 0;     // terminating: how many processes were signalled
    std::vector<std::string> command;  // started, exec

    // stopped / continued / exited / killed, from what wait reported.
    static lifecycle_event from_status(pid_t pid, const wait_status& status);
};

class event_log {
public:
    enum class format { human, json };
    event_log(std::FILE* out, format style) noexcept : out_(out), style_(style) {}
    void write(const lifecycle_event& event);

private:
    std::FILE* out_;
    format style_;
};

}  // namespace brood::cli
