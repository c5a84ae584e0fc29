// A child_plan as one message to a spawner, and back into a child_plan on the spawner's side.
//
// Internal to spawn. The plan's pointers become counts and one block of NUL-terminated strings; its
// fds (every move's source, the terminal, the cgroup) travel beside the message with SCM_RIGHTS and
// are named by their index among them. Reading allocates nothing: the spawner may be the fork of a
// multi-threaded process, where only async-signal-safe code is portable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spawn/child_plan.hpp"

namespace brood::detail {

// The largest message: a Unix seqpacket socket takes at most its send buffer (about 208 KiB by
// default) in one message. A bigger plan (a huge environment) is spawned directly.
inline constexpr std::size_t plan_message_max = 192 * 1024;
// The most fds one message carries (the kernel's own limit, SCM_MAX_FD, is 253).
inline constexpr std::size_t plan_message_max_fds = 64;
// The most argv, envp and candidate entries the spawner can point to (with their null ends).
inline constexpr std::size_t plan_message_max_strings = 16 * 1024;

// Kept from one spawn to the next on the same thread (as spawn_buffers are), so that a message in
// steady state allocates nothing.
struct plan_message {
    std::string bytes;
    std::vector<int> fds;  // the caller's own, borrowed: sent, never closed here
    std::vector<fd_move> moves;  // the plan's, their sources as indices into fds
};

// The message for plan (which must close other fds: a spawner cannot give the child fds of its
// owner that it was not sent), or false when it does not fit in one: spawn directly then.
// cgroup_fd < 0: none. Every fd the child keeps without a move (0, 1, 2 inherited) is sent as a
// move onto itself, or as a close where the caller has none open or has it close-on-exec.
bool write_plan_message(const child_plan& plan, int cgroup_fd, plan_message& message);

// Storage the spawner reads a plan into, made once: the plan's arrays point into it.
struct plan_storage {
    const char* strings[plan_message_max_strings];
    fd_move moves[plan_message_max_fds + 3];
};

// plan from a message of size bytes with its fds (received into the spawner's table). Returns 0,
// or EINVAL for a message that does not hold together (sizes, indices, missing NULs). The plan
// points into message and storage, which must outlive it.
int read_plan_message(const char* message, std::size_t size, const int* fds, std::size_t fd_count,
                      plan_storage& storage, child_plan& plan, int& cgroup_fd) noexcept;

}  // namespace brood::detail
