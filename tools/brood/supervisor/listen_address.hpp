// The address of brood up's HTTP endpoint, as [http] listen and --http give it:
//   "127.0.0.1:9180", "[::1]:9180", "0.0.0.0:9180"; port 0 takes any free port.
// Literal addresses only: a name would need a resolver, and which address it means can change.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace brood::supervisor {

struct listen_address {
    sockaddr_storage address{};
    socklen_t length = 0;
    bool loopback = false;  // 127.0.0.0/8 or ::1: only this machine's users can connect
    std::string text;       // as given
};

// nullopt when text is not ADDRESS:PORT with a literal IPv4 or [IPv6] address.
std::optional<listen_address> parse_listen_address(std::string_view text);

}  // namespace brood::supervisor
