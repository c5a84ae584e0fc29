#include "spawn/spawn_plan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include <brood/signal.hpp>

#include "child/fork_private.hpp"
#include "spawn/user_database.hpp"

extern char** environ;

namespace brood::detail {
namespace {

constexpr std::string_view default_path = "/usr/local/bin:/usr/bin:/bin";
constexpr std::string_view stream_names[3] = {"stdin", "stdout", "stderr"};

bool has_nul(std::string_view s) noexcept { return s.find('\0') != std::string_view::npos; }

std::string in_quotes(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q += '"';
    q += s;
    q += '"';
    return q;
}

std::string_view limit_name(int resource) noexcept {
    switch (resource) {
        case RLIMIT_AS: return "RLIMIT_AS";
        case RLIMIT_CORE: return "RLIMIT_CORE";
        case RLIMIT_CPU: return "RLIMIT_CPU";
        case RLIMIT_DATA: return "RLIMIT_DATA";
        case RLIMIT_FSIZE: return "RLIMIT_FSIZE";
        case RLIMIT_LOCKS: return "RLIMIT_LOCKS";
        case RLIMIT_MEMLOCK: return "RLIMIT_MEMLOCK";
        case RLIMIT_MSGQUEUE: return "RLIMIT_MSGQUEUE";
        case RLIMIT_NICE: return "RLIMIT_NICE";
        case RLIMIT_NOFILE: return "RLIMIT_NOFILE";
        case RLIMIT_NPROC: return "RLIMIT_NPROC";
        case RLIMIT_RSS: return "RLIMIT_RSS";
        case RLIMIT_RTPRIO: return "RLIMIT_RTPRIO";
        case RLIMIT_RTTIME: return "RLIMIT_RTTIME";
        case RLIMIT_SIGPENDING: return "RLIMIT_SIGPENDING";
        case RLIMIT_STACK: return "RLIMIT_STACK";
        default: return {};
    }
}

// The key of a "KEY=value" environment entry.
std::string_view env_key(const char* entry) noexcept {
    std::string_view e(entry);
    return e.substr(0, e.find('='));
}

spawn_buffers& thread_buffers() {
    thread_local spawn_buffers buffers;
    return buffers;
}

}  // namespace

spawn_plan::spawn_plan(const command& cmd, const stdio& in, const stdio& out, const stdio& err)
    : cmd_(cmd), buf_(thread_buffers()), path_var_(buf_.path), stdio_{&in, &out, &err} {
    prepare_strings();
    prepare_fds();
    prepare_credentials();
    using access = detail_spawn_access;
    plan_.new_session = access::new_session(cmd);
    plan_.terminal_fd = access::terminal_fd(cmd);
    if (const auto& pgid = access::pgid(cmd)) {
        // setsid already made the child the leader of a new group (and a session leader cannot
        // setpgid): a new group on top of a new session is a no-op; joining another group is EPERM.
        plan_.set_pgid = !(plan_.new_session && *pgid == 0);
        plan_.pgid = *pgid;
    }
    plan_.death_signal = access::death_signal(cmd);
    if (plan_.death_signal != 0) plan_.parent_pid = this_process_id();
    if (const auto& mask = access::umask(cmd)) {
        plan_.set_umask = true;
        plan_.umask = *mask;
    }
    const auto& limits = access::rlimits(cmd);
    buf_.limits.clear();
    for (const auto& l : limits) buf_.limits.push_back({l.resource, l.soft, l.hard});
    plan_.limits = buf_.limits.data();
    plan_.limit_count = buf_.limits.size();
}

spawn_plan::~spawn_plan() {
    // Keep the reused buffers from pinning a huge one-off environment or argument list forever.
    constexpr std::size_t keep_at_most = 1 << 20;
    if (buf_.text.capacity() > keep_at_most) std::string().swap(buf_.text);
    if (buf_.ptrs.capacity() > keep_at_most / sizeof(char*)) std::vector<const char*>().swap(buf_.ptrs);
}

void spawn_plan::fail(int error, std::string detail) const {
    throw spawn_error(cmd_.program(), spawn_stage::prepare, error, std::move(detail));
}

// All strings go into one buffer reserved up front (so pointers into it stay valid), the pointer
// arrays into one vector; the inherited environment is not copied, only pointed to.
void spawn_plan::prepare_strings() {
    using access = detail_spawn_access;
    const std::string& program = cmd_.program();
    const auto& argv = cmd_.argv();
    const auto& changes = access::env_changes(cmd_);
    const auto& cwd = access::cwd(cmd_);

    if (program.empty()) fail(ENOENT, "(empty program name)");
    if (has_nul(program)) fail(EINVAL, "(program name contains a NUL byte)");
    for (const auto& a : argv)
        if (has_nul(a)) fail(EINVAL, "(argument " + in_quotes(a.c_str()) + "... contains a NUL byte)");
    for (const auto& [key, value] : changes) {
        if (key.empty() || key.find('=') != std::string::npos || has_nul(key))
            fail(EINVAL, "(environment variable name " + in_quotes(key.c_str()) + " is invalid)");
        if (value && has_nul(*value)) fail(EINVAL, "(value of " + in_quotes(key) + " contains a NUL byte)");
    }
    if (cwd && has_nul(cwd->native())) fail(EINVAL, "(working directory contains a NUL byte)");

    const bool search = program.find('/') == std::string::npos;
    std::string& path_var = buf_.path;
    path_var.clear();
    if (search) {
        // The PATH of the child's environment, as Python's subprocess searches: the one the command
        // sets, else the inherited one (none after env_clear() or env_remove("PATH")), else default.
        const auto change = std::find_if(changes.begin(), changes.end(),
                                         [](const auto& c) { return c.first == "PATH"; });
        const char* inherited = access::env_clear(cmd_) ? nullptr : ::getenv("PATH");
        if (change != changes.end())
            path_var = change->second ? std::string_view(*change->second) : default_path;
        else
            path_var = inherited != nullptr ? std::string_view(inherited) : default_path;
    }
    const std::size_t path_entries = search ? std::count(path_var_.begin(), path_var_.end(), ':') + 1 : 1;

    std::size_t text_size = cwd ? cwd->native().size() + 1 : 0;
    for (const auto& a : argv) text_size += a.size() + 1;
    for (const auto& [key, value] : changes)
        if (value) text_size += key.size() + value->size() + 2;
    text_size += search ? path_var_.size() + path_entries * (program.size() + 2) : program.size() + 1;

    std::string& text = buf_.text;
    text.clear();
    text.reserve(text_size);
    const char* const base = text.data();
    auto put = [&](std::string_view a, std::string_view b = {}, std::string_view c = {}) {
        const char* s = text.data() + text.size();
        text.append(a).append(b).append(c).push_back('\0');
        return s;
    };

    auto& ptrs = buf_.ptrs;
    ptrs.clear();
    std::size_t inherited = 0;
    if (!access::env_clear(cmd_))
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) ++inherited;
    ptrs.reserve(argv.size() + 1 + inherited + changes.size() + 1 + path_entries + 1);

    for (const auto& a : argv) ptrs.push_back(put(a));
    ptrs.push_back(nullptr);

    const std::size_t env_start = ptrs.size();
    if (!access::env_clear(cmd_)) {
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
            // Without changes no entry is read, only pointed to (an init's environment may be long).
            if (!changes.empty()) {
                const std::string_view key = env_key(*e);
                const auto same_key = [&](const auto& change) { return change.first == key; };
                if (std::any_of(changes.begin(), changes.end(), same_key)) continue;
            }
            ptrs.push_back(*e);
        }
    }
    for (const auto& [key, value] : changes)
        if (value) ptrs.push_back(put(key, "=", *value));
    ptrs.push_back(nullptr);

    const std::size_t candidates_start = ptrs.size();
    if (!search) {
        ptrs.push_back(put(program));
    } else {
        // Like execvp: each PATH entry joined with the program; an empty entry is the working
        // directory (the program name alone, resolved after the child's chdir).
        std::string_view rest = path_var_;
        for (;;) {
            const std::size_t colon = rest.find(':');
            const std::string_view dir = rest.substr(0, colon);
            if (dir.empty())
                ptrs.push_back(put(program));
            else
                ptrs.push_back(put(dir, dir.back() == '/' ? "" : "/", program));
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
    }
    const std::size_t candidate_count = ptrs.size() - candidates_start;
    ptrs.push_back(nullptr);

    plan_.cwd = cwd ? put(cwd->native()) : nullptr;
    // Every pointer above was taken from the reserved buffer: it must not have moved.
    if (text.data() != base) std::abort();

    plan_.argv = ptrs.data();
    plan_.envp = ptrs.data() + env_start;
    plan_.candidates = ptrs.data() + candidates_start;
    plan_.candidate_count = candidate_count;
}

void spawn_plan::prepare_stdio(int stream, const stdio& s) {
    int source = -1;
    switch (s.type()) {
        case stdio::kind::inherit: return;
        case stdio::kind::null: source = fd_move::open_null; break;
        case stdio::kind::pipe: {
            int fds[2];
            if (::pipe2(fds, O_CLOEXEC) != 0) fail(errno, "pipe for " + std::string(stream_names[stream]));
            const int child_end = stream == 0 ? 0 : 1;
            child_ends_[stream].reset(fds[child_end]);
            parent_ends_[stream].reset(fds[1 - child_end]);
            source = fds[child_end];
            break;
        }
        case stdio::kind::file: {
            const int flags = stream == 0 ? O_RDONLY | O_CLOEXEC
                                          : O_WRONLY | O_CREAT | O_CLOEXEC | (s.append() ? O_APPEND : O_TRUNC);
            child_ends_[stream].reset(::open(s.path().c_str(), flags, 0666));
            if (!child_ends_[stream])
                fail(errno, "open " + in_quotes(s.path().native()) + " for " + std::string(stream_names[stream]));
            source = child_ends_[stream].get();
            break;
        }
        case stdio::kind::fd: source = s.parent_fd(); break;
    }
    buf_.moves.push_back({source, stream});
}

void spawn_plan::prepare_fds() {
    using access = detail_spawn_access;
    const auto& extra = access::extra_fds(cmd_);
    auto& moves = buf_.moves;
    auto& keep = buf_.keep;
    moves.clear();
    moves.reserve(3 + extra.size());
    keep.clear();
    keep.reserve(3 + extra.size());

    for (int stream = 0; stream < 3; ++stream) prepare_stdio(stream, *stdio_[stream]);
    keep.insert(keep.end(), {0, 1, 2});
    int max_target = 2;
    for (const auto& [child_fd, parent_fd] : extra) {
        moves.push_back({parent_fd, child_fd});
        keep.push_back(child_fd);
        max_target = std::max(max_target, child_fd);
    }
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());

    plan_.moves = moves.data();
    plan_.move_count = moves.size();
    plan_.max_target = max_target;
    plan_.close_other_fds = access::close_other_fds(cmd_);
    plan_.keep = keep.data();
    plan_.keep_count = keep.size();
}

// From root, a user means its groups too (as su and systemd's User= do): the primary group and the
// supplementary groups the user database gives it, unless group() or supplementary_groups() say
// otherwise. Looked up here, in the parent: the child cannot use NSS.
void spawn_plan::prepare_credentials() {
    using access = detail_spawn_access;
    std::optional<uid_t> uid = access::uid(cmd_);
    std::optional<gid_t> gid = access::gid(cmd_);
    const auto& groups = access::groups(cmd_);
    std::optional<user_entry> entry;
    int error = 0;
    if (const auto& name = access::user_name(cmd_)) {
        entry = find_user(*name, error);
        if (!entry)
            fail(error != 0 ? error : ENOENT,
                 "user " + in_quotes(*name) + (error != 0 ? " in the user database" : " (no entry in the user database)"));
        uid = entry->uid;
    }
    const bool from_root = uid && ::geteuid() == 0;  // asked only when a user is to be taken on
    const bool default_groups = uid && from_root && !groups;
    if (uid && from_root && (!gid || !groups)) {
        if (!entry) {
            entry = find_user(*uid, error);
            if (error != 0) fail(error, "look up uid " + std::to_string(*uid) + " in the user database");
        }
        if (!entry && !gid)
            fail(ENOENT, "group of uid " + std::to_string(*uid) + " (no entry in the user database: set group())");
        if (!gid) gid = entry->gid;
        // A uid with no entry but an explicit group has no supplementary groups.
        user_groups_ = entry ? groups_of(*entry, *gid) : std::vector<gid_t>();
    }
    if (groups || default_groups) {
        const auto& list = groups ? *groups : user_groups_;
        plan_.set_groups = true;
        // The defaults are skipped where setgroups is refused to root (a user namespace that denies
        // it), as they were when they only cleared root's groups; an explicit list is not.
        plan_.groups_best_effort = !groups;
        plan_.groups = list.data();
        plan_.group_count = list.size();
    }
    if (gid) {
        plan_.set_gid = true;
        plan_.gid = *gid;
    }
    if (uid) {
        plan_.set_uid = true;
        plan_.uid = *uid;
    }
}

void spawn_plan::close_child_ends() noexcept {
    for (auto& fd : child_ends_) fd.reset();
}

std::string spawn_plan::failure_detail(const child_report& report) const {
    const int index = report.index;
    switch (static_cast<spawn_stage>(report.stage)) {
        case spawn_stage::signals:
            return index > 0 ? "of " + signal_name(index) : std::string();
        case spawn_stage::terminal: return "of fd " + std::to_string(plan_.terminal_fd);
        case spawn_stage::process_group:
            return plan_.pgid != 0 ? "to " + std::to_string(plan_.pgid) : std::string();
        case spawn_stage::parent_death: return signal_name(plan_.death_signal);
        case spawn_stage::rlimit:
            if (index >= 0 && static_cast<std::size_t>(index) < plan_.limit_count) {
                const int resource = plan_.limits[index].resource;
                const std::string_view name = limit_name(resource);
                return name.empty() ? "resource " + std::to_string(resource) : std::string(name);
            }
            return {};
        case spawn_stage::groups:
            if (index == 1) return "to " + std::to_string(plan_.gid);
            return "(supplementary groups)";
        case spawn_stage::user: return "to " + std::to_string(plan_.uid);
        case spawn_stage::chdir: return plan_.cwd != nullptr ? in_quotes(plan_.cwd) : std::string();
        case spawn_stage::redirect:
            if (index >= 0 && static_cast<std::size_t>(index) < plan_.move_count) {
                // The child may have rewritten source while moving it: name the fd the user gave.
                const int target = plan_.moves[index].target;
                if (target <= 2) {
                    const stdio& s = *stdio_[target];
                    if (s.type() == stdio::kind::fd)
                        return "of fd " + std::to_string(s.parent_fd()) + " to " + std::string(stream_names[target]);
                    if (s.type() == stdio::kind::null) return "of \"/dev/null\" to " + std::string(stream_names[target]);
                    return "of " + std::string(stream_names[target]);
                }
                for (const auto& [child_fd, parent_fd] : detail_spawn_access::extra_fds(cmd_))
                    if (child_fd == target)
                        return "of fd " + std::to_string(parent_fd) + " to fd " + std::to_string(child_fd);
            }
            return {};
        case spawn_stage::exec: {
            // A program given with a '/' is the only candidate: the message already names it.
            if (cmd_.program().find('/') != std::string::npos) return {};
            if (report.error == ENOENT || report.error == ENOTDIR) return "in PATH " + in_quotes(path_var_);
            if (index >= 0 && static_cast<std::size_t>(index) < plan_.candidate_count)
                return in_quotes(plan_.candidates[index]);
            return {};
        }
        default: return {};
    }
}

}  // namespace brood::detail
