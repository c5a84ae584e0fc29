#include "spawn/user_database.hpp"

#include <algorithm>
#include <cerrno>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace brood::detail {
namespace {

// Runs lookup(entry, buffer, size, result) with a buffer grown until the entry fits.
template <class Lookup>
std::optional<user_entry> find(Lookup lookup, int& error) {
    const long suggested = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 1024);
    for (;;) {
        passwd entry{};
        passwd* result = nullptr;
        error = lookup(&entry, buffer.data(), buffer.size(), &result);
        if (error == ERANGE) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (result != nullptr) {
            error = 0;
            return user_entry{entry.pw_name, entry.pw_uid, entry.pw_gid};
        }
        // "Not found" is 0 by POSIX; some NSS modules say ENOENT or ESRCH.
        if (error == ENOENT || error == ESRCH) error = 0;
        return std::nullopt;
    }
}

}  // namespace

std::optional<user_entry> find_user(uid_t uid, int& error) {
    return find([uid](passwd* e, char* b, std::size_t n, passwd** r) { return ::getpwuid_r(uid, e, b, n, r); },
                error);
}

std::optional<user_entry> find_user(const std::string& name, int& error) {
    return find([&](passwd* e, char* b, std::size_t n, passwd** r) { return ::getpwnam_r(name.c_str(), e, b, n, r); },
                error);
}

std::vector<gid_t> groups_of(const user_entry& user, gid_t gid) {
    std::vector<gid_t> groups(16);
    for (;;) {
        int count = static_cast<int>(groups.size());
        if (::getgrouplist(user.name.c_str(), gid, groups.data(), &count) >= 0) {
            groups.resize(static_cast<std::size_t>(count));
            return groups;
        }
        // It did not fit; count is now the size needed.
        groups.resize(std::max(static_cast<std::size_t>(count), groups.size() * 2));
    }
}

}  // namespace brood::detail
