// Writing a whole buffer to an fd that may be non-blocking or interrupted by signals.
#pragma once

#include <cstddef>
#include <string_view>

namespace brood::supervisor {

// Writes every byte of bytes to fd, retrying after EINTR and waiting (poll) while a non-blocking
// fd is full. Returns 0, or the errno that stopped it (EPIPE, ENOSPC, ...). written, when given, is
// set to how many bytes went out, a failure's included.
int write_fully(int fd, std::string_view bytes, std::size_t* written = nullptr) noexcept;

}  // namespace brood::supervisor
