#include "control/unix_address.hpp"

#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace brood::control {

unix_address unix_address_of(const std::filesystem::path& path) {
    const std::string& text = path.native();
    unix_address a;
    if (text.empty()) throw std::invalid_argument("control socket: empty path");
    if (text.size() >= sizeof a.address.sun_path)
        throw std::invalid_argument("control socket " + text + ": path longer than " +
                                    std::to_string(sizeof a.address.sun_path - 1) +
                                    " bytes (a unix socket's limit); choose a shorter one with --socket");
    a.address.sun_family = AF_UNIX;
    std::memcpy(a.address.sun_path, text.data(), text.size());
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + text.size() + 1);
    return a;
}

}  // namespace brood::control
