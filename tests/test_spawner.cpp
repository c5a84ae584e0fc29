// brood::spawner: children made by a helper process that holds only its socket, yet the caller's own
// in every way command::spawn's are; the same failures; the fallback when the helper is gone; spawns
// from several threads at once. The shared main fails any test that leaves a child or an fd behind.
#include <brood/cgroup.hpp>
#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/error.hpp>
#include <brood/fork.hpp>
#include <brood/spawner.hpp>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/leak_check.hpp"
#include "support/process_state.hpp"
#include "support/temp_dir.hpp"

namespace {

using brood::command;
using brood::spawn_error;
using brood::spawn_stage;
using brood::stdio;
using brood::testing::fd_table_size;
using brood::testing::helper;

// The child's stdout, once it has exited with code 0.
std::string output_of(brood::child process) {
    const std::string out = brood::detail::read_all(process.stdout_pipe().get());
    EXPECT_EQ(process.wait(), brood::exited{0});
    return out;
}

// Many fds open in the caller, as in a supervisor of hundreds of programs; closed at the end.
struct many_fds {
    explicit many_fds(int pairs) {
        for (int i = 0; i < pairs; ++i) {
            int p[2];
            if (::pipe2(p, O_CLOEXEC) != 0) break;
            fds.push_back(p[0]);
            fds.push_back(p[1]);
        }
    }
    ~many_fds() {
        for (int fd : fds) ::close(fd);
    }
    std::vector<int> fds;
};

TEST(spawner, its_child_is_ours_and_gets_only_the_fds_it_is_given) {
    brood::spawner through;
    ASSERT_TRUE(through.running());
    const many_fds held(500);
    ASSERT_EQ(held.fds.size(), 1000u);

    // The helper holds its socket and nothing else, however many fds its owner opens later.
    EXPECT_EQ(brood::testing::fd_count(through.pid()), 1u);

    // The child is this process's, not the helper's.
    const std::string info = output_of(through.spawn(command(helper("self_info")).set_stdout(stdio::pipe())));
    EXPECT_NE(info.find("\nppid=" + std::to_string(::getpid()) + "\n"), std::string::npos) << info;

    EXPECT_EQ(output_of(through.spawn(command(helper("print_fds")).set_stdout(stdio::pipe()))), "0 1 2\n");
    // An fd passed on, at the number asked for, even one that is also another's source.
    EXPECT_EQ(output_of(through.spawn(command(helper("print_fds"))
                                          .set_stdout(stdio::pipe())
                                          .inherit_fd(7, held.fds[0])
                                          .inherit_fd(4, held.fds.back()))),
              "0 1 2 4 7\n");
}

// A spawner made once its owner holds a thousand fds: its socket is numbered above them there. The
// child's fd table is still as small as any new process's (64 slots), not a copy that long, which
// it would have to allocate and free again.
TEST(spawner, made_late_its_children_get_a_small_fd_table) {
    const many_fds held(500);
    brood::spawner through;
    brood::child c = through.spawn(command(helper("pause")).set_stdin(stdio::null()));
    EXPECT_EQ(fd_table_size(c.pid()), 64u);
    EXPECT_GE(fd_table_size(::getpid()), 1024u);  // the owner's, for contrast
    c.kill();
    c.wait();
}

// The same command spawned directly and through the spawner makes the same process: arguments,
// environment, directory, umask, process group, limits.
TEST(spawner, a_command_runs_as_it_does_when_spawned_directly) {
    brood::spawner through;
    brood::testing::temp_dir dir("spawner");
    const auto describe = [&](const std::string& program) {
        return command(helper(program))
            .arg("one")
            .arg("two words")
            .env("SPAWNER_TEST", "value=with=equals")
            .env_remove("HOME")
            .cwd(dir.path())
            .umask(027)
            .process_group()
            .rlimit(RLIMIT_CORE, 0, 0)
            .set_stdout(stdio::pipe());
    };
    for (const char* program : {"print_args", "print_env", "print_cwd"})
        EXPECT_EQ(output_of(through.spawn(describe(program))), output_of(describe(program).spawn())) << program;

    // self_info: the same but for its own pid and group (a group of its own: pgid = pid).
    const auto without_ids = [](std::string info) {
        std::istringstream in(info);
        std::string kept;
        for (std::string line; std::getline(in, line);)
            if (line.rfind("pid=", 0) != 0 && line.rfind("pgid=", 0) != 0) kept += line + "\n";
        return kept;
    };
    brood::child via_spawner = through.spawn(describe("self_info"));
    const std::string pid = std::to_string(via_spawner.pid());
    const std::string info = output_of(std::move(via_spawner));
    EXPECT_NE(info.find("\npgid=" + pid + "\n"), std::string::npos) << info;
    EXPECT_EQ(without_ids(info), without_ids(output_of(describe("self_info").spawn())));
}

TEST(spawner, failures_are_reported_as_for_a_direct_spawn) {
    brood::spawner through;
    const auto message = [](auto&& spawn) {
        try {
            spawn();
        } catch (const spawn_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    for (const command& cmd : {command("/nonexistent/program"), command(helper("noop")).cwd("/nonexistent-directory")}) {
        const std::string direct = message([&] { cmd.spawn(); });
        EXPECT_NE(direct, "no error");
        EXPECT_EQ(message([&] { through.spawn(cmd); }), direct);
    }
    try {
        through.spawn(command("/nonexistent/program"));
        FAIL() << "no error";
    } catch (const spawn_error& e) {
        EXPECT_EQ(e.stage(), spawn_stage::exec);
        EXPECT_EQ(e.code().value(), ENOENT);
    }
    EXPECT_TRUE(through.running());  // a failed spawn leaves the helper serving
}

// Where the owner has no fd 0, a child that inherits stdin has none either, rather than the
// helper's. In a forked child, so that this test process keeps its stdin.
TEST(spawner, a_standard_fd_the_owner_has_closed_stays_closed_in_the_child) {
    brood::child forked = brood::fork([] {
        ::close(0);
        brood::spawner through;
        brood::child c = through.spawn(command(helper("print_fds")).set_stdout(stdio::pipe()));
        const std::string out = brood::detail::read_all(c.stdout_pipe().get());
        return c.wait() == brood::exited{0} && out == "1 2\n" ? 0 : 1;
    });
    EXPECT_EQ(forked.wait(), brood::exited{0});
}

// Killed from outside: spawns go on, made here, and the dead helper is reaped.
TEST(spawner, a_helper_killed_from_outside_leaves_spawns_working) {
    brood::spawner through;
    const pid_t pid = through.pid();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_EQ(output_of(through.spawn(command(helper("print_fds")).set_stdout(stdio::pipe()))), "0 1 2\n");
    EXPECT_FALSE(through.running());
    EXPECT_EQ(through.pid(), 0);
    EXPECT_NE(::kill(pid, 0), 0);  // reaped: the pid names no process of ours any more
    EXPECT_EQ(output_of(through.spawn(command(helper("print_fds")).set_stdout(stdio::pipe()))), "0 1 2\n");
}

TEST(spawner, destroying_it_ends_the_helper) {
    pid_t pid = 0;
    {
        brood::spawner through;
        pid = through.pid();
        ASSERT_GT(pid, 0);
    }
    EXPECT_NE(::kill(pid, 0), 0);
    EXPECT_EQ(errno, ESRCH);
}

// PR_SET_PDEATHSIG follows the thread: a spawner made on a thread that has ended has lost its helper
// (killed), and spawns go on the direct way.
TEST(spawner, made_on_a_thread_that_has_ended_it_falls_back_to_direct_spawns) {
    std::optional<brood::spawner> through;
    std::thread([&] { through.emplace(); }).join();
    const pid_t pid = through->pid();
    ASSERT_GT(pid, 0);
    EXPECT_EQ(brood::testing::state_within_deadline(pid, 'Z'), 'Z') << "the helper outlived the thread that made it";
    EXPECT_EQ(output_of(through->spawn(command(helper("print_fds")).set_stdout(stdio::pipe()))), "0 1 2\n");
    EXPECT_FALSE(through->running());
}

// Four threads spawn through one spawner while a fifth spawns directly: every child is made once,
// runs, and is reaped by its own handle.
TEST(spawner, threads_spawning_at_once_each_get_their_own_child) {
    brood::spawner through;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    constexpr int per_thread = 40;
    for (int t = 0; t < 5; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                command cmd = command(helper("exit_code")).arg(std::to_string((t * per_thread + i) % 200));
                brood::child c = t == 4 ? cmd.spawn() : through.spawn(cmd);
                if (c.wait() == brood::exited{(t * per_thread + i) % 200}) ++ok;
            }
        });
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(ok.load(), 5 * per_thread);
    EXPECT_TRUE(through.running());
}

TEST(spawner, into_a_cgroup) {
    const auto base = brood::current_cgroup();
    if (!base) GTEST_SKIP() << "no cgroup v2 hierarchy";
    std::optional<brood::cgroup> group;
    try {
        group = brood::cgroup::create(*base / ("brood-test-spawner-" + std::to_string(::getpid())));
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "cannot create a cgroup: " << e.what();
    }
    {
        brood::spawner through;
        brood::child c = through.spawn(command(helper("pause")).set_stdin(stdio::null()).into_cgroup(group->fd()));
        std::ifstream in("/proc/" + std::to_string(c.pid()) + "/cgroup");
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_NE(text.str().find(group->path().filename().string()), std::string::npos) << text.str();
        c.kill();
        c.wait();
    }
    group->remove();
}

}  // namespace
