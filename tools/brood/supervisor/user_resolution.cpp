#include "supervisor/user_resolution.hpp"

#include <charconv>
#include <sstream>

#include <unistd.h>

#include <brood/command.hpp>
#include <brood/error.hpp>

namespace brood::supervisor {
namespace {

// The whole text as a number, or nullopt.
std::optional<unsigned> number(std::string_view text) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

// getent DATABASE KEY: its line's fields split at ':' (or at blanks for initgroups); nullopt when
// there is no entry (getent's exit code 2). Throws what stops getent from answering.
std::optional<std::vector<std::string>> getent(const std::string& database, const std::string& key, char separator) {
    const process_output r = command("getent").arg(database).arg(key).set_stdin(stdio::null()).output();
    if (r.status == wait_status(exited{2})) return std::nullopt;
    if (!r.status.success()) throw std::runtime_error("getent " + database + " " + key + " " + r.status.to_string() + ": " + r.err);
    std::vector<std::string> fields;
    std::istringstream line(r.out.substr(0, r.out.find('\n')));
    for (std::string field; std::getline(line, field, separator);)
        if (separator != ' ' || !field.empty()) fields.push_back(field);
    return fields;
}

std::string user_text(uid_t uid) {
    try {
        if (auto entry = getent("passwd", std::to_string(uid), ':'); entry && !entry->empty())
            return entry->front() + " (uid " + std::to_string(uid) + ")";
    } catch (const std::exception&) {
        // The number alone says it.
    }
    return "uid " + std::to_string(uid);
}

}  // namespace

user_lookup resolve_user(std::string_view name_or_uid) {
    const std::string key(name_or_uid);
    try {
        const auto entry = getent("passwd", key, ':');
        if (!entry || entry->size() < 4 || !number((*entry)[2]) || !number((*entry)[3])) {
            if (const auto uid = number(key)) return {resolved_user{*uid, std::nullopt, {}}, {}};
            return {std::nullopt, "unknown user \"" + key + "\" (not in the user database)"};
        }
        resolved_user user{*number((*entry)[2]), *number((*entry)[3]), {}};
        if (const auto groups = getent("initgroups", (*entry)[0], ' '))
            for (std::size_t i = 1; i < groups->size(); ++i)
                if (const auto gid = number((*groups)[i]); gid && *gid != *user.primary_group) user.groups.push_back(*gid);
        return {user, {}};
    } catch (const std::exception& error) {
        return {std::nullopt, std::string("cannot read the user database: ") + error.what()};
    }
}

group_lookup resolve_group(std::string_view name_or_gid) {
    const std::string key(name_or_gid);
    if (const auto gid = number(key)) return {*gid, {}};
    try {
        const auto entry = getent("group", key, ':');
        if (entry && entry->size() >= 3 && number((*entry)[2])) return {*number((*entry)[2]), {}};
        return {std::nullopt, "unknown group \"" + key + "\" (not in the group database)"};
    } catch (const std::exception& error) {
        return {std::nullopt, std::string("cannot read the group database: ") + error.what()};
    }
}

const user_lookup& user_lookups::user(std::string_view name_or_uid) {
    if (const auto found = users_.find(name_or_uid); found != users_.end()) return found->second;
    return users_.emplace(std::string(name_or_uid), resolve_user(name_or_uid)).first->second;
}

const group_lookup& user_lookups::group(std::string_view name_or_gid) {
    if (const auto found = groups_.find(name_or_gid); found != groups_.end()) return found->second;
    return groups_.emplace(std::string(name_or_gid), resolve_group(name_or_gid)).first->second;
}

std::optional<std::string> why_not_run_as(uid_t uid, std::optional<gid_t> gid) {
    const uid_t self = ::geteuid();
    if (self == 0) return std::nullopt;
    if (uid != self)
        return "brood runs as " + user_text(self) + ", not as root: it can start programs only as itself, not as " +
               user_text(uid);
    if (gid && *gid != ::getegid())
        return "brood runs as " + user_text(self) + ", not as root, with group " + std::to_string(::getegid()) +
               ": it cannot start programs in group " + std::to_string(*gid);
    return std::nullopt;
}

}  // namespace brood::supervisor
