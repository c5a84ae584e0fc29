#include "http/bearer_token.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <stdexcept>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

namespace brood::http {
namespace {

constexpr std::size_t token_bytes = 32;
constexpr std::size_t max_token_file = 4096;

std::string named(const std::filesystem::path& path, std::string_view what) {
    return "http token " + path.string() + ": " + std::string(what);
}

void write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(errno, named(path, "write"));
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

std::string write_new_token(const std::filesystem::path& path) {
    std::array<std::uint8_t, token_bytes> random{};
    for (std::size_t got = 0; got < random.size();) {
        const ssize_t n = ::getrandom(random.data() + got, random.size() - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(errno, named(path, "getrandom"));
        got += static_cast<std::size_t>(n);
    }
    std::string token;
    for (std::uint8_t byte : random) {
        constexpr std::string_view digits = "0123456789abcdef";
        token += digits[byte >> 4];
        token += digits[byte & 0xf];
    }
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    // A new file made 0600 from the start (O_EXCL: not a file or link someone left there), then
    // renamed over the old token.
    const std::filesystem::path temporary = path.string() + ".new";
    ::unlink(temporary.c_str());
    const unique_fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw_errno(errno, named(temporary, "open"));
    try {
        if (::fchmod(fd.get(), 0600) != 0) throw_errno(errno, named(temporary, "fchmod 0600"));
        write_all(fd.get(), token + "\n", temporary);
        if (::rename(temporary.c_str(), path.c_str()) != 0) throw_errno(errno, named(path, "rename"));
    } catch (...) {
        ::unlink(temporary.c_str());
        throw;
    }
    return token;
}

std::string read_token(const std::filesystem::path& path) {
    const unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno(errno, named(path, "open"));
    std::string text(max_token_file + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(errno, named(path, "read"));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got > max_token_file) throw std::runtime_error(named(path, "longer than 4 KiB; a token is one line"));
    text.resize(got);
    constexpr std::string_view blank = " \t\r\n";
    text.erase(0, std::min(text.find_first_not_of(blank), text.size()));
    text.erase(text.find_last_not_of(blank) + 1);
    if (text.empty()) throw std::runtime_error(named(path, "is empty"));
    return text;
}

bool token_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.substr(0, scheme.size()) != scheme) return false;
    const std::string_view given = authorization.substr(scheme.size());
    if (given.size() != token.size()) return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < token.size(); ++i)
        difference |= static_cast<unsigned char>(given[i] ^ token[i]);
    return difference == 0;
}

}  // namespace brood::http
