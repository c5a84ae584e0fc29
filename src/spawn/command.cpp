// command's builder: it only records what was asked; spawn() checks and prepares it.
#include <algorithm>
#include <stdexcept>
#include <string>

#include <brood/command.hpp>

namespace brood {

stdio stdio::file(std::filesystem::path path, bool append) {
    stdio s(kind::file);
    s.path_ = std::move(path);
    s.append_ = append;
    return s;
}

stdio stdio::fd(int fd) noexcept {
    stdio s(kind::fd);
    s.fd_ = fd;
    return s;
}

command::command(std::string program) : program_(std::move(program)) {
    argv_.reserve(4);
    argv_.push_back(program_);
}

command& command::arg(std::string value) {
    argv_.push_back(std::move(value));
    return *this;
}

command& command::arg0(std::string value) {
    argv_.front() = std::move(value);
    return *this;
}

namespace {

template <class Changes>
auto find_key(Changes& changes, const std::string& key) {
    return std::find_if(changes.begin(), changes.end(), [&](const auto& c) { return c.first == key; });
}

}  // namespace

command& command::env(std::string key, std::string value) {
    if (auto it = find_key(env_changes_, key); it != env_changes_.end())
        it->second = std::move(value);
    else
        env_changes_.emplace_back(std::move(key), std::move(value));
    return *this;
}

command& command::env_remove(std::string key) {
    if (auto it = find_key(env_changes_, key); it != env_changes_.end())
        it->second.reset();
    else if (!env_clear_)
        env_changes_.emplace_back(std::move(key), std::nullopt);
    return *this;
}

command& command::env_clear() {
    env_clear_ = true;
    env_changes_.clear();
    return *this;
}

command& command::cwd(std::filesystem::path dir) {
    cwd_ = std::move(dir);
    return *this;
}

command& command::set_stdin(stdio s) {
    stdin_ = std::move(s);
    return *this;
}

command& command::set_stdout(stdio s) {
    stdout_ = std::move(s);
    return *this;
}

command& command::set_stderr(stdio s) {
    stderr_ = std::move(s);
    return *this;
}

command& command::inherit_fd(int child_fd, int parent_fd) {
    if (child_fd < 3)
        throw std::invalid_argument("brood::command::inherit_fd: child fd " + std::to_string(child_fd) +
                                    " is a standard stream; use set_stdin/set_stdout/set_stderr");
    if (parent_fd < 0)
        throw std::invalid_argument("brood::command::inherit_fd: parent fd " + std::to_string(parent_fd) +
                                    " is not a file descriptor");
    auto it = std::find_if(extra_fds_.begin(), extra_fds_.end(), [&](const auto& p) { return p.first == child_fd; });
    if (it != extra_fds_.end())
        it->second = parent_fd;
    else
        extra_fds_.emplace_back(child_fd, parent_fd);
    return *this;
}

command& command::process_group(pid_t pgid) {
    pgid_ = pgid;
    return *this;
}

command& command::new_session() {
    new_session_ = true;
    return *this;
}

command& command::controlling_terminal(int fd) {
    if (fd < 0)
        throw std::invalid_argument("brood::command::controlling_terminal: " + std::to_string(fd) +
                                    " is not a file descriptor");
    terminal_fd_ = fd;
    new_session_ = true;
    return *this;
}

command& command::die_with_parent(int signal) {
    death_signal_ = signal;
    return *this;
}

command& command::umask(mode_t mask) {
    umask_ = mask;
    return *this;
}

command& command::rlimit(int resource, rlim_t soft, rlim_t hard) {
    auto it = std::find_if(rlimits_.begin(), rlimits_.end(), [&](const limit& l) { return l.resource == resource; });
    if (it != rlimits_.end())
        *it = {resource, soft, hard};
    else
        rlimits_.push_back({resource, soft, hard});
    return *this;
}

command& command::user(uid_t uid) {
    uid_ = uid;
    user_name_.reset();
    return *this;
}

command& command::user(std::string name) {
    user_name_ = std::move(name);
    uid_.reset();
    return *this;
}

command& command::group(gid_t gid) {
    gid_ = gid;
    return *this;
}

command& command::supplementary_groups(std::vector<gid_t> groups) {
    groups_ = std::move(groups);
    return *this;
}

command& command::into_cgroup(int cgroup_dir_fd) {
    cgroup_fd_ = cgroup_dir_fd;
    return *this;
}

command& command::close_other_fds(bool close) {
    close_other_fds_ = close;
    return *this;
}

command& command::on_drop(drop_policy policy) {
    drop_policy_ = policy;
    return *this;
}

}  // namespace brood
