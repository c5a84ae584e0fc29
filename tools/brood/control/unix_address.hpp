// The sockaddr_un of a socket path, which must fit in sun_path (107 bytes and a NUL).
#pragma once

#include <filesystem>

#include <sys/socket.h>
#include <sys/un.h>

namespace brood::control {

struct unix_address {
    sockaddr_un address{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address); }
};

// Throws std::invalid_argument naming path when it is empty or too long for a unix socket.
unix_address unix_address_of(const std::filesystem::path& path);

}  // namespace brood::control
