// brood's descendants, found through /proc: to signal those left behind when the program ends,
// and to know when none is left.
//
// Each one is signalled through an fd of its /proc directory (pidfd_send_signal accepts one), after
// checking through that same fd that its parent is still the process it was listed under: a pid
// that was reaped and reused meanwhile is never hit. Pids are /proc's own, so this also works in a
// PID namespace whose /proc was not remounted.
#pragma once

#include <cstddef>

#include <sys/types.h>

namespace brood::cli {

// This process's pid as /proc sees it.
pid_t proc_self_pid();

// Sends signal to every live descendant (zombies are skipped); a stopped one also gets SIGCONT so
// that it can act on the signal. Returns how many were signalled. As PID 1 without /proc, uses
// kill(-1) and returns 1 when anyone was there.
std::size_t signal_descendants(int signal);

// Whether this process has any child left, running or zombie (waitid with WNOWAIT: reaps nothing).
bool has_children();

}  // namespace brood::cli
