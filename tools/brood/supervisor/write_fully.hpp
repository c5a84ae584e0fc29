// Writing a whole buffer to an fd that may be non-blocking or interrupted by signals.
#pragma once

#include <string_view>

namespace brood::supervisor {

// Writes every byte of bytes to fd, retrying after EINTR and waiting (poll) while a non-blocking
// fd is full. Returns 0, or the errno that stopped it (EPIPE, ENOSPC, ...).
int write_fully(int fd, std::string_view bytes) noexcept;

}  // namespace brood::supervisor
