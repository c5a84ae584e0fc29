// Subreaping. Tests that make a process a subreaper do it in a forked child, so the test process
// never becomes one; the child reports what it saw and the assertions run here.
#include <algorithm>
#include <array>

#include <spawn.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/brood.hpp>

#include "support/leak_check.hpp"

namespace {

// A pipe carrying pids (or a plain "go") from one process to another.
class channel {
public:
    channel() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        read_end_.reset(fds[0]);
        write_end_.reset(fds[1]);
    }
    void send(pid_t value) const { brood::detail::write_all(write_end_.get(), &value, sizeof value); }
    pid_t receive() const {
        pid_t value = 0;
        std::size_t got = 0;
        while (got < sizeof value) {
            const ssize_t n = ::read(read_end_.get(), reinterpret_cast<char*>(&value) + got, sizeof value - got);
            if (n == -1 && errno == EINTR) continue;
            if (n <= 0) return -1;
            got += static_cast<std::size_t>(n);
        }
        return value;
    }

private:
    brood::unique_fd read_end_, write_end_;
};

// Blocks until pid has exited, without reaping it.
void wait_until_exited(pid_t pid) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR) {
    }
}

}  // namespace

TEST(reaper, subreaper_flag_turns_on_and_off) {
    const bool before = brood::is_subreaper();
    struct flags {
        bool at_start, after_on, after_off;
    };
    const flags seen = brood::fork_call([] {
        flags f{};
        f.at_start = brood::is_subreaper();  // not inherited across fork
        brood::become_subreaper();
        f.after_on = brood::is_subreaper();
        brood::become_subreaper(false);
        f.after_off = brood::is_subreaper();
        return f;
    }).get();
    EXPECT_FALSE(seen.at_start);
    EXPECT_TRUE(seen.after_on);
    EXPECT_FALSE(seen.after_off);
    EXPECT_EQ(brood::is_subreaper(), before);
}

// Tests that need this process to adopt orphans make the test process a subreaper for their
// length only.
struct subreaper_for_a_test {
    subreaper_for_a_test() { brood::become_subreaper(true); }
    ~subreaper_for_a_test() { brood::become_subreaper(false); }
};

TEST(reaper, nothing_to_reap_is_an_empty_list) {
    const subreaper_for_a_test subreaper;
    EXPECT_TRUE(brood::reap_as_init().empty());  // no children at all (ECHILD)

    channel go;
    brood::child running = brood::fork([&] { return go.receive() == 0 ? 0 : 1; });
    ASSERT_TRUE(running.stop());
    ASSERT_EQ(running.wait(brood::wait_events::stop), brood::stopped{SIGSTOP});
    EXPECT_TRUE(brood::reap_as_init().empty()) << "a stopped child has not exited";
    ASSERT_TRUE(running.resume());
    EXPECT_TRUE(brood::reap_as_init().empty()) << "a running child has not exited";
    go.send(0);
    EXPECT_EQ(running.wait(), brood::exited{0});
}

TEST(reaper, owned_child_status_goes_to_its_handle) {
    const subreaper_for_a_test subreaper;
    brood::child kid = brood::fork([] { return 7; });
    wait_until_exited(kid.pid());
    EXPECT_TRUE(brood::reap_as_init().empty());
    EXPECT_FALSE(brood::proc::read_process(kid.pid())) << "reaped, not left a zombie";
    EXPECT_EQ(kid.exit_status(), brood::wait_status(brood::exited{7}));
    EXPECT_EQ(kid.wait(), brood::exited{7});
}

// A process that adopts no orphans has only children it started: reaping "every child" there
// could only take children that other code of the program waits for. So the init's call refuses,
// and the other code's child keeps its status.
TEST(reaper, reap_as_init_refuses_in_a_process_that_adopts_no_orphans) {
    ASSERT_FALSE(brood::adopts_orphans());
    pid_t pid = 0;
    char arg0[] = "true";
    char* argv[] = {arg0, nullptr};
    ASSERT_EQ(::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ), 0);
    wait_until_exited(pid);
    EXPECT_THROW(brood::reap_as_init(), std::logic_error);
    std::array<brood::reaped_orphan, 4> batch;
    EXPECT_THROW(brood::reap_as_init(batch), std::logic_error);
    int status = -1;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid) << "the posix_spawn child's status stayed for its owner";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The double fork of daemons: a middle process starts two grandchildren and exits. The subreaper
// adopts them; one exits with 42, one is killed; reap_as_init reports both and leaves the status of
// a child that a handle owns to that handle.
TEST(reaper, double_forked_orphans_are_adopted_and_reaped) {
    struct report {
        pid_t subreaper, middle, first, second, owned;
        pid_t first_parent_before, first_parent_after, second_parent_after;
        char first_state_before_reap;
        int orphans;
        pid_t orphan_pid[4];
        brood::wait_status::event_type orphan_event[4];
        brood::wait_status::event_type owned_event;
        brood::wait_status::event_type middle_event;
        bool first_gone_after, nothing_left;
    };
    const report r = brood::fork_call([] {
        report out{};
        out.subreaper = ::getpid();
        brood::become_subreaper();

        channel pids, middle_go, first_go;
        brood::child middle = brood::fork([&] {
            std::vector<brood::child> grandchildren;
            for (int i = 0; i < 2; ++i) {
                std::optional<brood::child> grandchild = brood::fork_here();
                if (!grandchild) brood::exit_child(first_go.receive() == 0 ? 42 : 1);
                pids.send(grandchild->pid());
                grandchildren.push_back(std::move(*grandchild));
            }
            middle_go.receive();
            brood::exit_child(0);  // leaves both grandchildren behind: their handles are never dropped
        });
        out.middle = middle.pid();
        out.first = pids.receive();
        out.second = pids.receive();
        if (auto info = brood::proc::read_process(out.first)) out.first_parent_before = info->ppid;

        middle_go.send(0);
        out.middle_event = middle.wait().event();  // the middle is gone: its children are ours now
        if (auto info = brood::proc::read_process(out.first)) out.first_parent_after = info->ppid;
        if (auto info = brood::proc::read_process(out.second)) out.second_parent_after = info->ppid;

        brood::child owned = brood::fork([] { return 9; });
        out.owned = owned.pid();
        ::kill(out.second, SIGKILL);
        wait_until_exited(out.second);  // dying, it could still take the go meant for the first one
        first_go.send(0);
        wait_until_exited(out.first);
        wait_until_exited(out.owned);
        if (auto info = brood::proc::read_process(out.first)) out.first_state_before_reap = info->state;

        const auto orphans = brood::reap_as_init();
        out.orphans = static_cast<int>(orphans.size());
        for (std::size_t i = 0; i < orphans.size() && i < 4; ++i) {
            out.orphan_pid[i] = orphans[i].pid;
            out.orphan_event[i] = orphans[i].status.event();
        }
        out.owned_event = owned.wait().event();
        out.first_gone_after = !brood::proc::read_process(out.first);
        out.nothing_left = brood::reap_as_init().empty() && brood::proc::children_of(::getpid()).empty();
        return out;
    }).get();

    EXPECT_EQ(r.middle_event, brood::wait_status::event_type(brood::exited{0}));
    EXPECT_EQ(r.first_parent_before, r.middle);
    EXPECT_EQ(r.first_parent_after, r.subreaper) << "adopted by the subreaper, not by init";
    EXPECT_EQ(r.second_parent_after, r.subreaper);
    EXPECT_EQ(r.first_state_before_reap, 'Z');

    ASSERT_EQ(r.orphans, 2) << "both orphans, and not the owned child";
    const auto find = [&](pid_t pid) { return std::find(r.orphan_pid, r.orphan_pid + 2, pid) - r.orphan_pid; };
    ASSERT_LT(find(r.first), 2);
    ASSERT_LT(find(r.second), 2);
    EXPECT_EQ(r.orphan_event[find(r.first)], brood::wait_status::event_type(brood::exited{42}));
    EXPECT_EQ(r.orphan_event[find(r.second)], brood::wait_status::event_type(brood::killed{SIGKILL, false}));

    EXPECT_EQ(r.owned_event, brood::wait_status::event_type(brood::exited{9})) << "left to its handle";
    EXPECT_TRUE(r.first_gone_after);
    EXPECT_TRUE(r.nothing_left);
}
