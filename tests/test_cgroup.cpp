// cgroup: finding the cgroup v2 hierarchy, creating a cgroup, starting children in it, and acting
// on all its processes at once (kill, freeze), daemonized descendants included. The tests that need
// a writable cgroup v2 hierarchy skip, saying why, where there is none.
#include <brood/cgroup.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/error.hpp>
#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

#include "support/leak_check.hpp"
#include "support/temp_dir.hpp"

namespace brood::detail {
// src/cgroup/kill_each.cpp: cgroup::kill's way on kernels without cgroup.kill (< 5.14).
void kill_each(const cgroup& group);
}  // namespace brood::detail

namespace {

using namespace std::chrono_literals;
using brood::cgroup;
using brood::command;
using brood::stdio;
using brood::unique_fd;
using brood::testing::helper;
namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Waits up to 10 s for condition, woken by the cgroup's events fd; true when it came.
bool eventually(const cgroup& group, const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return false;
        pollfd changed{.fd = group.events_fd(), .events = POLLPRI, .revents = 0};
        ::poll(&changed, 1, static_cast<int>(std::min(left, 100ms).count()));
    }
    return true;
}

// Waits up to 10 s for a process that is not our child to end, through a pidfd.
bool ends_within_10s(pid_t pid) {
    const unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return errno == ESRCH;
    pollfd ended{.fd = pidfd.get(), .events = POLLIN, .revents = 0};
    return ::poll(&ended, 1, 10000) == 1;
}

// A fresh cgroup below this process's own, killed and removed at the end of the test.
class scratch_cgroup {
public:
    // Empty, with the reason in skip_reason, where no writable cgroup v2 hierarchy exists.
    static std::optional<scratch_cgroup> make(std::string& skip_reason) {
        const auto base = brood::current_cgroup();
        if (!base) {
            skip_reason = "no cgroup v2 hierarchy mounted, or this process's cgroup is outside it";
            return std::nullopt;
        }
        static int counter = 0;
        const fs::path dir = *base / ("brood-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        try {
            return scratch_cgroup(cgroup::create(dir));
        } catch (const std::system_error& error) {
            skip_reason = std::string("cannot create a cgroup: ") + error.what();
            return std::nullopt;
        }
    }
    scratch_cgroup(scratch_cgroup&&) = default;
    ~scratch_cgroup() {
        if (group.fd() < 0) return;  // moved from
        try {
            group.kill();
            eventually(group, [&] { return !group.populated(); });
            group.remove();
        } catch (const std::system_error&) {
        }
    }
    cgroup group;

private:
    explicit scratch_cgroup(cgroup made) : group(std::move(made)) {}
};

#define SCRATCH_CGROUP(name)                               \
    std::string skip_reason;                               \
    auto name = scratch_cgroup::make(skip_reason);         \
    if (!name) GTEST_SKIP() << skip_reason;

brood::child spawn_pause(const cgroup& group) {
    return command(helper("pause")).set_stdin(stdio::null()).into_cgroup(group.fd()).spawn();
}

}  // namespace

TEST(cgroup, finds_the_cgroup2_mount_and_this_process_in_it) {
    const auto mount = brood::cgroup2_mount();
    if (!mount) GTEST_SKIP() << "no cgroup2 file system in /proc/self/mountinfo";
    EXPECT_TRUE(fs::exists(*mount / "cgroup.controllers")) << *mount;
    const auto own = brood::current_cgroup();
    ASSERT_TRUE(own) << "the cgroup of /proc/self/cgroup: " << read_text("/proc/self/cgroup");
    EXPECT_EQ(own->string().rfind(mount->string(), 0), 0u) << *own << " is not below " << *mount;
    const auto pids = cgroup::open(*own).pids();
    EXPECT_NE(std::find(pids.begin(), pids.end(), ::getpid()), pids.end()) << "this process is not in " << *own;
}

TEST(cgroup, children_spawned_into_it_are_listed_and_killed_together) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    EXPECT_FALSE(group.populated());
    EXPECT_TRUE(group.pids().empty());
    EXPECT_NO_THROW(cgroup::create(group.path())) << "an existing cgroup is fine";

    auto first = spawn_pause(group);
    auto second = spawn_pause(group);
    auto pids = group.pids();
    std::sort(pids.begin(), pids.end());
    std::vector<pid_t> expected{first.pid(), second.pid()};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(pids, expected);
    EXPECT_TRUE(group.populated());
    EXPECT_NE(read_text("/proc/" + std::to_string(first.pid()) + "/cgroup").find(group.path().filename().string()),
              std::string::npos);

    group.kill();
    EXPECT_EQ(first.wait().signal(), SIGKILL);
    EXPECT_EQ(second.wait().signal(), SIGKILL);
    EXPECT_TRUE(eventually(group, [&] { return !group.populated(); }));
    EXPECT_TRUE(group.pids().empty());
}

TEST(cgroup, events_fd_signals_when_it_empties) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    auto child = spawn_pause(group);
    EXPECT_TRUE(group.populated());  // reading re-arms the fd
    pollfd changed{.fd = group.events_fd(), .events = POLLPRI, .revents = 0};
    EXPECT_EQ(::poll(&changed, 1, 0), 0) << "ready before anything changed";

    ASSERT_TRUE(child.kill());
    EXPECT_EQ(child.wait().signal(), SIGKILL);
    ASSERT_EQ(::poll(&changed, 1, 10000), 1) << "no POLLPRI within 10 s of the cgroup emptying";
    EXPECT_TRUE(changed.revents & POLLPRI);
    EXPECT_FALSE(group.populated());
    EXPECT_EQ(::poll(&changed, 1, 0), 0) << "still ready after cgroup.events was read";
}

TEST(cgroup, events_fd_in_a_monitor_fires_epollpri_once_per_change) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    brood::monitor loop;
    loop.on_event([](const brood::monitor::event&) {});  // else the child's exit, queued, stops polling
    loop.watch(spawn_pause(group));
    int calls = 0;
    bool emptied = false;
    loop.add_fd(group.events_fd(), EPOLLPRI, [&](int, std::uint32_t revents) {
        ++calls;
        EXPECT_TRUE(revents & EPOLLPRI) << revents;
        emptied = !group.populated();  // reading cgroup.events is what re-arms the fd
    });
    EXPECT_TRUE(group.populated());
    group.kill();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!emptied && std::chrono::steady_clock::now() < deadline) loop.run_once(100ms);
    ASSERT_TRUE(emptied) << "no EPOLLPRI saying the cgroup emptied within 10 s (" << calls << " calls)";
    const int calls_when_emptied = calls;
    for (int i = 0; i < 3; ++i) loop.run_once(50ms);
    EXPECT_EQ(calls, calls_when_emptied) << "the fd stayed ready after cgroup.events was read";
    loop.remove_fd(group.events_fd());
}

TEST(cgroup, kill_reaches_a_daemonized_grandchild) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    const auto started = command(helper("daemonize")).set_stdin(stdio::null()).into_cgroup(group.fd()).output();
    ASSERT_EQ(started.status.code(), 0) << started.err;
    const pid_t daemon = std::stoi(started.out);
    EXPECT_EQ(group.pids(), std::vector<pid_t>{daemon}) << "the daemon left the cgroup";

    group.kill();
    EXPECT_TRUE(ends_within_10s(daemon));
    EXPECT_TRUE(eventually(group, [&] { return !group.populated(); }));
}

TEST(cgroup, the_fallback_without_cgroup_kill_reaches_every_process_too) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    const auto inner = cgroup::create(group.path() / "inner");
    auto child = spawn_pause(group);
    auto below = spawn_pause(inner);
    const auto started = command(helper("daemonize")).set_stdin(stdio::null()).into_cgroup(group.fd()).output();
    ASSERT_EQ(started.status.code(), 0) << started.err;
    const pid_t daemon = std::stoi(started.out);

    brood::detail::kill_each(group);
    EXPECT_EQ(child.wait().signal(), SIGKILL);
    EXPECT_EQ(below.wait().signal(), SIGKILL);
    EXPECT_TRUE(ends_within_10s(daemon));
    EXPECT_TRUE(eventually(group, [&] { return !group.populated(); }));
    EXPECT_NO_THROW(cgroup::open(inner.path()).remove());
}

TEST(cgroup, freeze_and_thaw) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    auto child = spawn_pause(group);
    EXPECT_FALSE(group.frozen());
    group.freeze(true);
    EXPECT_TRUE(eventually(group, [&] { return group.frozen(); }));
    group.freeze(false);
    EXPECT_TRUE(eventually(group, [&] { return !group.frozen(); }));
    // Thawed, it acts on signals again: SIGTERM ends the pause helper.
    ASSERT_TRUE(child.send_signal(SIGTERM));
    EXPECT_EQ(child.wait().signal(), SIGTERM);
}

// events(): both flags from the one read that clears the POLLPRI, so that a loop waiting on
// events_fd() sees every change in what it read.
TEST(cgroup, events_gives_both_flags_from_the_read_that_clears_the_readiness) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    auto child = spawn_pause(group);
    const cgroup::events_state running = group.events();
    EXPECT_TRUE(running.populated);
    EXPECT_FALSE(running.frozen);
    pollfd ready{group.events_fd(), POLLPRI, 0};
    EXPECT_EQ(::poll(&ready, 1, 0), 0) << "read, so not ready";
    group.freeze(true);
    ASSERT_EQ(::poll(&ready, 1, 5000), 1) << "frozen: ready";
    const cgroup::events_state frozen = group.events();
    EXPECT_TRUE(frozen.populated);
    EXPECT_TRUE(frozen.frozen);
    EXPECT_EQ(::poll(&ready, 1, 0), 0) << "one read cleared it";
    group.kill();
    EXPECT_EQ(child.wait().signal(), SIGKILL);
    ASSERT_EQ(::poll(&ready, 1, 5000), 1) << "emptied: ready";
    EXPECT_FALSE(group.events().populated);
}

TEST(cgroup, kill_ends_a_frozen_cgroup) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    auto child = spawn_pause(group);
    group.freeze(true);
    ASSERT_TRUE(eventually(group, [&] { return group.frozen(); }));
    group.kill();
    EXPECT_EQ(child.wait().signal(), SIGKILL);
    EXPECT_TRUE(eventually(group, [&] { return !group.populated(); }));
}

TEST(cgroup, remove_refuses_while_populated_and_then_removes) {
    SCRATCH_CGROUP(scratch);
    cgroup& group = scratch->group;
    auto child = spawn_pause(group);
    try {
        group.remove();
        ADD_FAILURE() << "removed while populated";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), EBUSY);
        EXPECT_NE(std::string(error.what()).find(group.path().string()), std::string::npos) << error.what();
    }
    group.kill();
    child.wait();
    ASSERT_TRUE(eventually(group, [&] { return !group.populated(); }));
    group.remove();
    EXPECT_FALSE(fs::exists(group.path()));
}

TEST(cgroup, errors_name_the_path) {
    brood::testing::temp_dir dir("cgroup");
    const auto expect_error = [](const std::function<void()>& call, const fs::path& path, int code) {
        try {
            call();
            ADD_FAILURE() << "no error for " << path;
        } catch (const std::system_error& error) {
            EXPECT_EQ(error.code().value(), code) << error.what();
            EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
        }
    };
    expect_error([&] { cgroup::open(dir.path()); }, dir.path(), ENOTDIR);
    expect_error([&] { cgroup::open(dir.path() / "missing"); }, dir.path() / "missing", ENOENT);
    expect_error([&] { cgroup::create(dir.path() / "no" / "parent"); }, dir.path() / "no" / "parent", ENOENT);
}

// A create that fails after its mkdir (here: outside cgroup2, as it would out of fds) leaves no
// directory behind, which would keep its parent cgroup from being removed; one that was there stays.
TEST(cgroup, a_failed_create_removes_the_directory_it_made) {
    brood::testing::temp_dir dir("cgroup");
    EXPECT_THROW(cgroup::create(dir.path() / "made"), std::system_error);
    EXPECT_FALSE(fs::exists(dir.path() / "made"));
    fs::create_directory(dir.path() / "there");
    EXPECT_THROW(cgroup::create(dir.path() / "there"), std::system_error);
    EXPECT_TRUE(fs::exists(dir.path() / "there"));
}
