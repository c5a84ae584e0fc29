// The registry of children owned by brood::child handles in this process.
//
// Anything that reaps by selector (wait_child, reap_as_init) may reap a child a handle owns; the
// registry lets it pass the status to that handle instead of losing it.
#pragma once

#include <optional>

#include <sys/types.h>

#include <brood/status.hpp>

namespace brood::detail {

struct child_state;

void register_child(child_state* state);
void unregister_child(child_state* state) noexcept;
// Records the terminal status of an owned child that was reaped elsewhere. False if not owned.
bool deliver_status(pid_t pid, const wait_status& status) noexcept;
// The status delivered to this child, if any (reads under the registry's lock).
std::optional<wait_status> delivered_status(const child_state* state) noexcept;

}  // namespace brood::detail
