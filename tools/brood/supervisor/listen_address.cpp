#include "supervisor/listen_address.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace brood::supervisor {

std::optional<listen_address> parse_listen_address(std::string_view text) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
    std::uint16_t port = 0;
    const std::string_view digits = text.substr(colon + 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;

    listen_address result;
    result.text = std::string(text);
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        const std::string literal(host.substr(1, host.size() - 2));
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        if (::inet_pton(AF_INET6, literal.c_str(), &v6.sin6_addr) != 1) return std::nullopt;
        result.loopback = IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
        std::memcpy(&result.address, &v6, sizeof v6);
        result.length = sizeof v6;
        return result;
    }
    const std::string literal(host);
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    if (::inet_pton(AF_INET, literal.c_str(), &v4.sin_addr) != 1) return std::nullopt;
    result.loopback = (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
    std::memcpy(&result.address, &v4, sizeof v4);
    result.length = sizeof v4;
    return result;
}

}  // namespace brood::supervisor
