#include <brood/cgroup.hpp>

#include <cerrno>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "cgroup/kill_each.hpp"
#include "cgroup/pid_list.hpp"

namespace brood {

namespace {

constexpr long cgroup2_magic = 0x63677270;  // CGROUP2_SUPER_MAGIC of <linux/magic.h>

std::string quoted(const std::filesystem::path& path) { return '"' + path.string() + '"'; }

}  // namespace

cgroup::cgroup(std::filesystem::path path, unique_fd dir, unique_fd events)
    : path_(std::move(path)), dir_(std::move(dir)), events_(std::move(events)) {}

cgroup cgroup::create(const std::filesystem::path& dir) {
    const bool made = ::mkdir(dir.c_str(), 0755) == 0;
    if (!made && errno != EEXIST) throw_errno(errno, "create cgroup " + quoted(dir));
    if (!made) return open(dir);
    try {
        return open(dir);
    } catch (const std::system_error&) {
        ::rmdir(dir.c_str());  // empty: nothing could be started in it yet
        throw;
    }
}

cgroup cgroup::open(const std::filesystem::path& dir) {
    unique_fd opened(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!opened) throw_errno(errno, "open cgroup " + quoted(dir));
    struct statfs filesystem {};
    if (::fstatfs(opened.get(), &filesystem) != 0) throw_errno(errno, "statfs cgroup " + quoted(dir));
    if (filesystem.f_type != cgroup2_magic) throw_errno(ENOTDIR, "open cgroup " + quoted(dir) + " (not in a cgroup2 file system)");
    // The root cgroup has no cgroup.events: no fd, and populated() and frozen() throw there.
    unique_fd events(::openat(opened.get(), "cgroup.events", O_RDONLY | O_CLOEXEC));
    if (!events && errno != ENOENT) throw_errno(errno, "open " + quoted(dir / "cgroup.events"));
    return cgroup(dir, std::move(opened), std::move(events));
}

std::vector<pid_t> cgroup::pids() const { return detail::read_cgroup_procs(dir_.get(), path_); }

std::string_view cgroup::read_events(char* buffer, std::size_t size) const {
    if (!events_) throw_errno(ENOENT, "read " + quoted(path_ / "cgroup.events"));
    // Read through the fd that is polled: reading it is what clears its POLLPRI.
    ssize_t n;
    while ((n = ::pread(events_.get(), buffer, size, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0) throw_errno(errno, "read " + quoted(path_ / "cgroup.events"));
    return std::string_view(buffer, static_cast<std::size_t>(n));
}

bool cgroup::event_flag(std::string_view text, const char* key) const {
    const std::string_view name(key);
    for (std::string_view rest = text; !rest.empty();) {
        const std::size_t end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (line.size() == name.size() + 2 && line.starts_with(name) && line[name.size()] == ' ')
            return line.back() == '1';
    }
    throw_errno(EINVAL, "read " + quoted(path_ / "cgroup.events") + ": no \"" + std::string(name) + "\" line");
}

bool cgroup::populated() const { return events().populated; }

bool cgroup::frozen() const { return events().frozen; }

cgroup::events_state cgroup::events() const {
    char buffer[256];
    const std::string_view text = read_events(buffer, sizeof buffer);
    return {event_flag(text, "populated"), event_flag(text, "frozen")};
}

namespace {

void write_control(int dir, const std::filesystem::path& path, const char* file, std::string_view value) {
    const unique_fd control(::openat(dir, file, O_WRONLY | O_CLOEXEC));
    if (!control) throw_errno(errno, "open " + quoted(path / file));
    ssize_t n;
    while ((n = ::write(control.get(), value.data(), value.size())) < 0 && errno == EINTR) {
    }
    if (n < 0) throw_errno(errno, "write \"" + std::string(value) + "\" to " + quoted(path / file));
}

}  // namespace

void cgroup::kill() {
    if (::faccessat(dir_.get(), "cgroup.kill", F_OK, 0) != 0 && errno == ENOENT) {
        detail::kill_each(*this);
        return;
    }
    write_control(dir_.get(), path_, "cgroup.kill", "1");
}

void cgroup::freeze(bool frozen) { write_control(dir_.get(), path_, "cgroup.freeze", frozen ? "1" : "0"); }

void cgroup::remove() {
    if (::rmdir(path_.c_str()) != 0) throw_errno(errno, "remove cgroup " + quoted(path_));
}

}  // namespace brood
