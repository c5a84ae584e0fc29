// The init's reap without its checks, for the monitor, which checks once when it is created.
#pragma once

#include <cstddef>
#include <span>

#include <brood/reaper.hpp>

namespace brood::detail {

// Reaps up to into.size() exited children that no brood::child owns; owned ones go to their handles.
std::size_t reap_unowned(std::span<reaped_orphan> into);
// Throws std::logic_error naming `who` unless this process adopts orphans (subreaper or PID 1).
void require_adopter(const char* who);

}  // namespace brood::detail
