// /proc readers against real processes: this one, and children put in each state on purpose.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/brood.hpp>

#include "support/leak_check.hpp"
#include "support/process_state.hpp"
#include "support/sanitizers.hpp"

namespace {

using namespace std::chrono_literals;
using brood::testing::state_within_deadline;

// A one-way signal between processes: pass() in one, wait() in the other (a byte over a pipe).
class gate {
public:
    gate() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        read_end_.reset(fds[0]);
        write_end_.reset(fds[1]);
    }
    void pass() const { brood::detail::write_all(write_end_.get(), "x", 1); }
    void wait() const {
        char byte;
        while (::read(read_end_.get(), &byte, 1) == -1 && errno == EINTR) {
        }
    }

private:
    brood::unique_fd read_end_, write_end_;
};

// Blocks until pid has exited, without reaping it: it stays a zombie.
void wait_until_exited(pid_t pid) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR) {
    }
}

// Sleeping and running are not events anyone is told about: look until the state shows (or 10 s).
std::string first_line(const std::string& path) {
    std::ifstream file(path);
    std::string line;
    std::getline(file, line);
    return line;
}

pid_t pid_max() { return std::stoi(first_line("/proc/sys/kernel/pid_max")); }

}  // namespace

TEST(proc_read_process, describes_this_process) {
    auto info = brood::proc::read_process(::getpid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->pid, ::getpid());
    EXPECT_EQ(info->state, 'R');  // reading its own stat, it is running
    EXPECT_EQ(info->ppid, ::getppid());
    EXPECT_EQ(info->pgid, ::getpgrp());
    EXPECT_EQ(info->sid, ::getsid(0));
    EXPECT_GE(info->threads, 1);
    EXPECT_GT(info->start_time, 0u);
    EXPECT_EQ(info->comm, first_line("/proc/self/comm"));
    ASSERT_FALSE(info->cmdline.empty());
    EXPECT_NE(info->cmdline[0].find("test_proc"), std::string::npos) << info->cmdline[0];
    EXPECT_GT(info->rss_bytes, 0u);
    EXPECT_EQ(info->rss_bytes % static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)), 0u);
}

// read_stat: the fields of read_process from stat alone.
TEST(proc_read_stat, reads_what_read_process_reads_but_the_command_line) {
    const auto full = brood::proc::read_process(::getpid());
    const auto stat = brood::proc::read_stat(::getpid());
    ASSERT_TRUE(full);
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->pid, full->pid);
    EXPECT_EQ(stat->ppid, full->ppid);
    EXPECT_EQ(stat->pgid, full->pgid);
    EXPECT_EQ(stat->start_time, full->start_time);
    EXPECT_EQ(stat->comm, full->comm);
    EXPECT_GE(stat->cpu_ticks, full->cpu_ticks);
    EXPECT_GT(stat->rss_bytes, 0u);
    EXPECT_TRUE(stat->cmdline.empty());
    brood::child gone = brood::fork([] {});
    const pid_t pid = gone.pid();
    EXPECT_EQ(gone.wait(), brood::exited{0});
    EXPECT_FALSE(brood::proc::read_stat(pid));
    EXPECT_FALSE(brood::proc::read_stat(0));
}

// stat_file: read_stat's fields, read again from the same fd, bound to the process it was opened
// for until that process is reaped; statm_file alike, for the resident set.
TEST(proc_stat_file, stat_and_statm_read_again_until_their_process_is_reaped) {
    gate release;
    brood::child kid = brood::fork([&] { release.wait(); });
    const pid_t pid = kid.pid();
    const std::optional<brood::proc::stat_file> file = brood::proc::stat_file::open(pid);
    ASSERT_TRUE(file);
    EXPECT_EQ(file->pid(), pid);
    const auto first = file->read();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->pid, pid);
    EXPECT_EQ(first->ppid, ::getpid());
    EXPECT_EQ(first->start_time, brood::proc::read_stat(pid)->start_time);
    EXPECT_EQ(state_within_deadline(pid, 'S'), 'S');
    const auto again = file->read();  // the kernel writes it anew: the state is today's
    ASSERT_TRUE(again);
    EXPECT_EQ(again->state, 'S');
    EXPECT_GE(again->cpu_ticks, first->cpu_ticks);
    const std::optional<brood::proc::statm_file> statm = brood::proc::statm_file::open(pid);
    ASSERT_TRUE(statm);
    std::uint64_t size_pages = 0, resident_pages = 0;
    std::ifstream("/proc/" + std::to_string(pid) + "/statm") >> size_pages >> resident_pages;
    ASSERT_GT(resident_pages, 0u);
    // It sleeps: its memory stays. (stat's rss may differ by the kernel's per-CPU counter batches.)
    EXPECT_EQ(statm->resident_bytes(), resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
    release.pass();
    EXPECT_EQ(kid.wait(), brood::exited{0});
    EXPECT_FALSE(file->read());
    EXPECT_FALSE(statm->resident_bytes());
    EXPECT_FALSE(brood::proc::stat_file::open(pid));
    EXPECT_FALSE(brood::proc::statm_file::open(pid));
    EXPECT_FALSE(brood::proc::stat_file::open(0));
}

TEST(proc_read_process, blocked_child_is_sleeping) {
    gate release;
    brood::child kid = brood::fork([&] { release.wait(); });
    EXPECT_EQ(state_within_deadline(kid.pid(), 'S'), 'S');
    auto info = brood::proc::read_process(kid.pid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->ppid, ::getpid());
    // TSan's runtime starts its background thread again in a forked child.
    EXPECT_EQ(info->threads, brood::testing::under_tsan ? 2 : 1);
    EXPECT_GE(info->start_time, brood::proc::read_process(::getpid())->start_time);
    release.pass();
    EXPECT_EQ(kid.wait(), brood::exited{0});
}

TEST(proc_read_process, busy_child_is_running) {
    brood::child kid = brood::fork([] {
        volatile bool spin = true;  // a volatile read each turn: the loop cannot be optimized away
        while (spin) {
        }
    });
    EXPECT_EQ(state_within_deadline(kid.pid(), 'R'), 'R');
    kid.kill();
    EXPECT_EQ(kid.wait(), (brood::killed{SIGKILL, false}));
}

// A child that spins spends CPU time, and read_process counts it: cpu_ticks rises past a couple
// of ticks, and never past the wall time since the child began (it has one thread).
TEST(proc_read_process, busy_child_spends_cpu_time) {
    const auto began = std::chrono::steady_clock::now();
    brood::child busy = brood::fork([] {
        volatile bool spin = true;
        while (spin) {
        }
    });
    std::uint64_t ticks = 0;
    auto read_at = began;
    for (auto until = began + 10s; ticks < 2 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(5ms);
        read_at = std::chrono::steady_clock::now();
        if (auto info = brood::proc::read_process(busy.pid())) ticks = info->cpu_ticks;
    }
    EXPECT_GE(ticks, 2u);
    const double wall_ticks = std::chrono::duration<double>(read_at - began).count() * static_cast<double>(::sysconf(_SC_CLK_TCK));
    EXPECT_LE(static_cast<double>(ticks), wall_ticks + 1);
    busy.kill();
    EXPECT_EQ(busy.wait(), (brood::killed{SIGKILL, false}));
}

TEST(proc_read_process, stopped_child_is_T) {
    gate release;
    brood::child kid = brood::fork([&] { release.wait(); });
    ASSERT_TRUE(kid.stop());
    EXPECT_EQ(kid.wait(brood::wait_events::stop), brood::stopped{SIGSTOP});
    auto info = brood::proc::read_process(kid.pid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->state, 'T');
    EXPECT_EQ(brood::proc::state_name(info->state), "stopped");
    ASSERT_TRUE(kid.resume());
    release.pass();
    EXPECT_EQ(kid.wait(), brood::exited{0});
}

TEST(proc_read_process, exited_child_is_a_zombie_until_reaped) {
    brood::child kid = brood::fork([] { return 3; });
    const pid_t pid = kid.pid();
    wait_until_exited(pid);

    auto zombie = brood::proc::read_process(pid);
    ASSERT_TRUE(zombie);
    EXPECT_EQ(zombie->state, 'Z');
    EXPECT_EQ(zombie->ppid, ::getpid());
    EXPECT_TRUE(zombie->cmdline.empty());
    EXPECT_EQ(zombie->rss_bytes, 0u);
    EXPECT_FALSE(brood::proc::read_memory(pid));  // no memory left to describe
    EXPECT_EQ(brood::proc::children_of(::getpid()), std::vector<pid_t>{pid});

    EXPECT_EQ(kid.wait(), brood::exited{3});
    EXPECT_FALSE(brood::proc::read_process(pid));
    EXPECT_FALSE(brood::proc::read_memory(pid));
    EXPECT_TRUE(brood::proc::children_of(::getpid()).empty());
}

TEST(proc_read_process, new_session_leader) {
    gate ready, release;
    brood::child kid = brood::fork([&] {
        if (::setsid() == -1) return 1;
        ready.pass();
        release.wait();
        return 0;
    });
    ready.wait();
    auto info = brood::proc::read_process(kid.pid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->ppid, ::getpid());
    EXPECT_EQ(info->pgid, kid.pid());
    EXPECT_EQ(info->sid, kid.pid());
    release.pass();
    EXPECT_EQ(kid.wait(), brood::exited{0});
}

TEST(proc_read_process, process_group_leader_keeps_the_session) {
    gate ready, release;
    brood::child kid = brood::fork([&] {
        if (::setpgid(0, 0) == -1) return 1;
        ready.pass();
        release.wait();
        return 0;
    });
    ready.wait();
    auto info = brood::proc::read_process(kid.pid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->pgid, kid.pid());
    EXPECT_EQ(info->sid, ::getsid(0));
    release.pass();
    EXPECT_EQ(kid.wait(), brood::exited{0});
}

TEST(proc_read_process, comm_with_spaces_and_parentheses) {
    // A name that reads like the fields after it: only the last ')' can end it.
    static constexpr char name[] = "a) R 1 (2) 3";
    gate ready, release;
    brood::child kid = brood::fork([&] {
        if (::prctl(PR_SET_NAME, name) == -1) return 1;
        ready.pass();
        release.wait();
        return 0;
    });
    ready.wait();
    EXPECT_EQ(state_within_deadline(kid.pid(), 'S'), 'S');  // the state letter, not a byte of the name
    auto info = brood::proc::read_process(kid.pid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->comm, name);
    EXPECT_EQ(info->ppid, ::getpid());
    EXPECT_EQ(info->pgid, ::getpgrp());
    EXPECT_GT(info->rss_bytes, 0u);
    release.pass();
    EXPECT_EQ(kid.wait(), brood::exited{0});
}

TEST(proc_read_process, cmdline_keeps_spaces_and_empty_arguments) {
    const std::string program = brood::testing::helper("proc_wait_stdin");
    brood::child kid = brood::command(program)
                           .arg("two words")
                           .arg("")
                           .arg("last")
                           .set_stdin(brood::stdio::pipe())
                           .set_stdout(brood::stdio::pipe())
                           .spawn();
    char ready[6];
    ASSERT_EQ(::read(kid.stdout_pipe().get(), ready, sizeof ready), 6) << "the helper runs its own code";
    auto info = brood::proc::read_process(kid.pid());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->cmdline, (std::vector<std::string>{program, "two words", "", "last"}));
    EXPECT_EQ(info->comm, "proc_wait_stdin");
    kid.stdin_pipe().reset();
    EXPECT_EQ(kid.wait(), brood::exited{0});
}

TEST(proc_read_process, missing_pids_are_nullopt) {
    for (pid_t pid : {pid_max(), pid_t{0}, pid_t{-1}}) {
        EXPECT_FALSE(brood::proc::read_process(pid)) << pid;
        EXPECT_FALSE(brood::proc::read_memory(pid)) << pid;
        EXPECT_TRUE(brood::proc::children_of(pid).empty()) << pid;
    }
}

TEST(proc_read_memory, this_process_has_memory) {
    auto usage = brood::proc::read_memory(::getpid());
    ASSERT_TRUE(usage);
    EXPECT_GT(usage->rss, 0u);
    EXPECT_GT(usage->pss, 0u);
    EXPECT_LE(usage->pss, usage->rss);
    EXPECT_EQ(usage->shared() + usage->private_total(), usage->rss);
    EXPECT_EQ(usage->rss % 1024, 0u);  // kB turned into bytes
}

TEST(proc_read_memory, fork_shares_pages_until_the_child_writes_them) {
    constexpr std::size_t size = 64u << 20;
    constexpr std::uint64_t most = size * 9 / 10;
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::unique_ptr<char[]> buffer(new char[size]);
    std::memset(buffer.get(), 1, size);  // real pages, not the shared zero page

    auto parent = brood::proc::read_memory(::getpid());
    ASSERT_TRUE(parent);
    EXPECT_GE(parent->private_dirty, most);

    struct observed {
        bool readable;
        brood::proc::memory_usage before, after;
    };
    const observed child = brood::fork_call([&] {
        observed seen{};
        auto before = brood::proc::read_memory(::getpid());
        for (std::size_t i = 0; i < size; i += page) buffer[i] = 2;
        auto after = brood::proc::read_memory(::getpid());
        seen.readable = before && after;
        if (seen.readable) {
            seen.before = *before;
            seen.after = *after;
        }
        return seen;
    }).get();

    ASSERT_TRUE(child.readable);
    EXPECT_GE(child.before.shared(), most) << "after fork the buffer is mapped by both processes";
    EXPECT_LT(child.before.private_dirty, size / 10) << "the child has copied nothing yet";
    EXPECT_GE(child.after.private_dirty - child.before.private_dirty, most) << "each written page was copied";
    EXPECT_LE(child.after.shared() + most, child.before.shared()) << "and is no longer shared";
    EXPECT_EQ(buffer[0], 1) << "the parent's copy is untouched";
    EXPECT_EQ(buffer[size - page], 1);
}

TEST(proc_children_of, lists_children_of_every_thread) {
    gate release;
    brood::child first = brood::fork([&] { release.wait(); });
    // A child belongs to the thread that forked it; that thread stays alive while we look.
    brood::child second;
    std::promise<void> forked, looked;
    std::thread other([&] {
        second = brood::fork([&] { release.wait(); });
        forked.set_value();
        looked.get_future().wait();
    });
    forked.get_future().wait();
    std::vector<pid_t> expected{first.pid(), second.pid()};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(brood::proc::children_of(::getpid()), expected);
    looked.set_value();
    other.join();

    release.pass();
    release.pass();
    EXPECT_EQ(first.wait(), brood::exited{0});
    EXPECT_EQ(second.wait(), brood::exited{0});
    EXPECT_TRUE(brood::proc::children_of(::getpid()).empty());
}

TEST(proc_all_processes, ascending_and_includes_this_process) {
    const auto pids = brood::proc::all_processes();
    EXPECT_TRUE(std::is_sorted(pids.begin(), pids.end()));
    EXPECT_EQ(std::adjacent_find(pids.begin(), pids.end()), pids.end());
    EXPECT_TRUE(std::binary_search(pids.begin(), pids.end(), ::getpid()));
    EXPECT_TRUE(std::binary_search(pids.begin(), pids.end(), ::getppid()));
    EXPECT_TRUE(std::all_of(pids.begin(), pids.end(), [](pid_t pid) { return pid > 0; }));
}

TEST(proc_state_name, names_every_state_letter) {
    EXPECT_EQ(brood::proc::state_name('R'), "running");
    EXPECT_EQ(brood::proc::state_name('S'), "sleeping");
    EXPECT_EQ(brood::proc::state_name('D'), "disk sleep");
    EXPECT_EQ(brood::proc::state_name('T'), "stopped");
    EXPECT_EQ(brood::proc::state_name('t'), "tracing stop");
    EXPECT_EQ(brood::proc::state_name('Z'), "zombie");
    EXPECT_EQ(brood::proc::state_name('X'), "dead");
    EXPECT_EQ(brood::proc::state_name('I'), "idle");
    EXPECT_EQ(brood::proc::state_name('P'), "parked");
    EXPECT_EQ(brood::proc::state_name('?'), "unknown");
}
