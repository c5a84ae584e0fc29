// The user database (getpwuid_r, getpwnam_r, getgrouplist), read in the parent before a spawn: the
// child cannot, since NSS allocates, locks and may load modules or talk to a daemon.
//
// Internal to spawn.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace brood::detail {

struct user_entry {
    std::string name;
    uid_t uid;
    gid_t gid;  // the primary group
};

// The entry; or nullopt with error 0 when the database has none, with an errno when the lookup failed.
std::optional<user_entry> find_user(uid_t uid, int& error);
std::optional<user_entry> find_user(const std::string& name, int& error);

// The groups the database gives the user when gid is the primary group, gid first (getgrouplist).
std::vector<gid_t> groups_of(const user_entry& user, gid_t gid);

}  // namespace brood::detail
