// brood.toml's user and group: names or numbers, looked up in the user database when the
// configuration loads, so that a typo is a problem with file:line, not a program that fails at each
// start; and whether brood may run a program as them at all.
//
// The lookups run getent(1): the brood command is linked statically, and glibc's NSS modules
// (libnss_systemd on Debian, which is asked about every name the files do not know) crash when
// loaded into a static program. What getent answers once is what every start uses.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace brood::supervisor {

struct resolved_user {
    uid_t uid = 0;
    std::optional<gid_t> primary_group;  // none for a number with no entry in the database
    std::vector<gid_t> groups;           // the groups it is a member of besides its primary one
};

// "www-data" or "33"; a name must be in the user database, a number need not be. The error says
// why otherwise ("unknown user \"wwwdata\" (not in the user database)").
struct user_lookup {
    std::optional<resolved_user> user;
    std::string error;
};
user_lookup resolve_user(std::string_view name_or_uid);

struct group_lookup {
    std::optional<gid_t> gid;
    std::string error;
};
group_lookup resolve_group(std::string_view name_or_gid);

// The lookups of one load of the configuration: each user and group asked of the database once,
// however many programs name it, for each lookup runs getent. Made anew at each load, so that a
// reload sees the database as it is then.
class user_lookups {
public:
    const user_lookup& user(std::string_view name_or_uid);
    const group_lookup& group(std::string_view name_or_gid);

private:
    std::map<std::string, user_lookup, std::less<>> users_;
    std::map<std::string, group_lookup, std::less<>> groups_;
};

// Why brood cannot start programs as uid (and gid, when given), or nullopt when it can: root can,
// any other user only as itself, in its own group.
std::optional<std::string> why_not_run_as(uid_t uid, std::optional<gid_t> gid);

}  // namespace brood::supervisor
