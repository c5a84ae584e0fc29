// cgroup: a cgroup v2 directory, to start children in it and to act on all of them at once, their
// daemonized descendants included: a process cannot leave its cgroup by forking or by setsid.
//
//   auto base = brood::current_cgroup();              // this process's own cgroup, if visible
//   auto group = brood::cgroup::create(*base / "web");
//   auto c = brood::command("server").into_cgroup(group.fd()).spawn();
//   group.freeze(true);  ...  group.freeze(false);    // pause and resume every process in it
//   group.kill();                                     // SIGKILL to every process in it
//   // poll group.events_fd() for POLLPRI until !group.populated(), then:
//   group.remove();
//
// Needs a cgroup v2 hierarchy (the unified one, or the "unified" mount of a hybrid system) and the
// right to write in it: root, or a delegated subtree (systemd's Delegate=yes). See docs/cgroup.md.
// Errors are std::system_error naming the file or directory.
//
// Thread safety: a cgroup object may be used from one thread at a time; the kernel serialises the
// writes of different objects on the same directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood {

// Where the cgroup v2 hierarchy is mounted, from /proc/self/mountinfo (the first mount of type
// cgroup2); nullopt when there is none.
std::optional<std::filesystem::path> cgroup2_mount();

// This process's cgroup v2 directory: the mount plus the "0::" line of /proc/self/cgroup. nullopt
// when there is no cgroup2 mount or the process's cgroup lies outside what is mounted.
std::optional<std::filesystem::path> current_cgroup();

class cgroup {
public:
    // Makes the directory (an existing one is fine; its parent must exist) and opens it. When
    // opening fails (out of fds, not in a cgroup2 file system), a directory it made is removed again.
    static cgroup create(const std::filesystem::path& dir);
    // Opens an existing cgroup v2 directory; throws (ENOTDIR) for a directory outside cgroup2.
    static cgroup open(const std::filesystem::path& dir);

    cgroup(cgroup&&) noexcept = default;
    cgroup& operator=(cgroup&&) noexcept = default;

    const std::filesystem::path& path() const { return path_; }
    // The directory, open O_RDONLY | O_DIRECTORY: for command::into_cgroup(fd).
    int fd() const { return dir_.get(); }

    // The processes in it now (cgroup.procs), not those of cgroups below it.
    std::vector<pid_t> pids() const;

    // Whether any process is in it or below it ("populated 1" in cgroup.events).
    bool populated() const;
    // cgroup.events, open for reading: poll it for POLLPRI (epoll: EPOLLPRI), which the kernel
    // raises when populated or frozen changes. The fd stays ready until the file is read again,
    // which populated(), frozen() and events() do. -1 for the root cgroup, which has no cgroup.events.
    int events_fd() const { return events_.get(); }
    // Both flags from one read. A loop that waits on events_fd() must take what it needs from
    // the read that cleared the POLLPRI: a second read can take away the POLLPRI of a change that
    // came between the two, and the first read's flags would never be seen to change.
    struct events_state {
        bool populated = false;
        bool frozen = false;
    };
    events_state events() const;

    // SIGKILL to every process in it and below, through cgroup.kill (Linux 5.14); on older kernels
    // by signalling every listed pid until no new one appears. Returns at once: the processes are
    // gone when populated() turns false.
    void kill();

    // Freezes (true) or thaws (false) every process in it and below (cgroup.freeze, Linux 5.2).
    // Freezing takes effect shortly after: frozen() turns true (with a POLLPRI) once it has.
    void freeze(bool frozen);
    bool frozen() const;

    // Removes the directory (rmdir). Throws EBUSY while a process or a child cgroup is in it.
    void remove();

private:
    cgroup(std::filesystem::path path, unique_fd dir, unique_fd events);
    // cgroup.events' text, read into buffer (256 bytes: two short lines).
    std::string_view read_events(char* buffer, std::size_t size) const;
    bool event_flag(std::string_view text, const char* key) const;

    std::filesystem::path path_;
    unique_fd dir_;
    unique_fd events_;
};

}  // namespace brood
