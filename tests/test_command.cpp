// brood::command: building, spawning, the child's setup steps, output()/run(), and every failure.
// The shared main fails any test that leaves a child process or an fd behind, failures included.
#include <brood/cgroup.hpp>
#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/error.hpp>
#include <brood/fork.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/leak_check.hpp"
#include "support/user_database.hpp"
#include "support/temp_dir.hpp"

namespace brood::detail {
// Test seam in src/spawn/launch.cpp: false makes spawn use glibc clone() as where clone3 is refused.
void use_clone3_for_testing(bool enabled) noexcept;
}  // namespace brood::detail

namespace {

using namespace std::chrono_literals;
using brood::command;
using brood::spawn_error;
using brood::spawn_stage;
using brood::stdio;
using brood::unique_fd;
using brood::testing::helper;
using brood::testing::temp_dir;

namespace fs = std::filesystem;

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
}

// The "key=value" lines printed by the self_info helper.
std::map<std::string, std::string> info_lines(const std::string& out) {
    std::map<std::string, std::string> info;
    for (const auto& line : lines(out)) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) info[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return info;
}

std::map<std::string, std::string> self_info(command cmd) {
    const auto r = cmd.set_stdin(stdio::null()).output();
    EXPECT_TRUE(r.status.success()) << r.status.to_string() << " " << r.err;
    return info_lines(r.out);
}

std::string read_all(int fd) {
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return text;
        text.append(buf, static_cast<std::size_t>(n));
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, std::string_view text, fs::perms perms) {
    std::ofstream(path) << text;
    fs::permissions(path, perms);
}

struct pipe_pair {
    unique_fd read, write;
    explicit pipe_pair(int flags = O_CLOEXEC) {
        int fds[2];
        if (::pipe2(fds, flags) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        read.reset(fds[0]);
        write.reset(fds[1]);
    }
};

// Sets (or unsets, with nullptr) an environment variable of this process for one test.
class scoped_env {
public:
    scoped_env(const char* key, const char* value) : key_(key) {
        if (const char* old = ::getenv(key)) old_ = old;
        if (value != nullptr)
            ::setenv(key, value, 1);
        else
            ::unsetenv(key);
    }
    ~scoped_env() {
        if (old_)
            ::setenv(key_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(key_.c_str());
    }

private:
    std::string key_;
    std::optional<std::string> old_;
};

// Counts, across processes, how many times a failed spawn's catch block ran: a child that returned
// into the parent's code as a second copy would count too.
class copy_counter {
public:
    copy_counter() {
        void* p = ::mmap(nullptr, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
        count_ = static_cast<int*>(p);
    }
    ~copy_counter() { ::munmap(count_, sizeof(int)); }
    void hit() { __atomic_fetch_add(count_, 1, __ATOMIC_SEQ_CST); }
    int hits() const { return __atomic_load_n(count_, __ATOMIC_SEQ_CST); }

private:
    int* count_;
};

// Spawns cmd, which must fail; checks the error and that exactly this process handled it, with no
// child left. Returns the error for more checks.
spawn_error expect_spawn_failure(const command& cmd, spawn_stage stage, int error) {
    const pid_t self = ::getpid();
    copy_counter copies;
    std::optional<spawn_error> caught;
    try {
        brood::child c = cmd.spawn();
        ADD_FAILURE() << "spawn of " << cmd.program() << " succeeded; pid " << c.pid();
    } catch (const spawn_error& e) {
        copies.hit();
        caught = e;
    }
    EXPECT_EQ(::getpid(), self);
    EXPECT_EQ(copies.hits(), 1) << "the failed spawn was handled by more than one process";
    EXPECT_TRUE(brood::testing::own_children().empty()) << "a failed spawn left a child";
    if (!caught) return spawn_error(cmd.program(), spawn_stage::prepare, 0);
    EXPECT_EQ(caught->stage(), stage) << caught->what();
    EXPECT_EQ(caught->error(), error) << caught->what();
    EXPECT_EQ(caught->program(), cmd.program());
    EXPECT_NE(std::string(caught->what()).find(cmd.program()), std::string::npos) << caught->what();
    EXPECT_NE(std::string(caught->what()).find(brood::errno_name(error)), std::string::npos) << caught->what();
    return *caught;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Arguments, PATH, environment, working directory

TEST(command, passes_arguments_and_argv0) {
    const auto r = command(helper("print_args")).arg("one").arg("two words").arg("").output();
    ASSERT_TRUE(r.status.success());
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{helper("print_args"), "one", "two words", ""}));

    std::vector<std::string_view> more = {"a", "b"};
    const auto r0 = command(helper("print_args")).arg0("custom-name").args(more).output();
    EXPECT_EQ(lines(r0.out), (std::vector<std::string>{"custom-name", "a", "b"}));
}

TEST(command, argv_accessors_reflect_the_builder) {
    command c("prog");
    c.arg("x").arg0("zero");
    EXPECT_EQ(c.program(), "prog");
    EXPECT_EQ(c.argv(), (std::vector<std::string>{"zero", "x"}));
}

TEST(command, looks_up_program_in_path_in_order) {
    temp_dir dir;
    const fs::path first = dir.path() / "first", second = dir.path() / "second", third = dir.path() / "third";
    fs::create_directories(first);
    fs::create_directories(second);
    fs::create_directories(third);
    // first/tool is not executable: skipped (EACCES remembered); second/tool runs; third/tool never.
    write_file(first / "tool", "#!/bin/sh\necho first\n", fs::perms::owner_read | fs::perms::owner_write);
    write_file(second / "tool", "#!/bin/sh\necho second\n", fs::perms::owner_all);
    write_file(third / "tool", "#!/bin/sh\necho third\n", fs::perms::owner_all);
    const std::string path = (dir.path() / "missing").string() + ":" + first.string() + ":" + second.string() +
                             ":" + third.string();

    const auto r = command("tool").env("PATH", path).output();
    ASSERT_TRUE(r.status.success()) << r.err;
    EXPECT_EQ(r.out, "second\n");
}

TEST(command, path_is_searched_as_the_child_inherits_it) {
    temp_dir dir;
    write_file(dir.path() / "brood-only-here", "#!/bin/sh\necho found\n", fs::perms::owner_all);
    scoped_env path("PATH", (dir.path().string() + ":/usr/bin:/bin").c_str());
    const auto r = command("brood-only-here").output();
    EXPECT_TRUE(r.status.success()) << r.status.to_string() << r.err;
    EXPECT_EQ(r.out, "found\n");
}

TEST(command, path_is_searched_as_the_command_replaces_it) {
    temp_dir dir;
    write_file(dir.path() / "brood-only-here", "#!/bin/sh\necho found\n", fs::perms::owner_all);
    {
        // Only the child's PATH leads to the program: this process's does not.
        scoped_env path("PATH", "/usr/bin:/bin");
        const auto r = command("brood-only-here").env_clear().env("PATH", dir.path().string()).output();
        EXPECT_EQ(r.out, "found\n") << r.err;
    }
    {
        // Only this process's PATH leads to it; the child has none after env_clear() or env_remove():
        // the default is searched and names itself in the error.
        scoped_env path("PATH", dir.path().string().c_str());
        for (const command& c : {command("brood-only-here").env_clear(), command("brood-only-here").env_remove("PATH")}) {
            const auto e = expect_spawn_failure(c, spawn_stage::exec, ENOENT);
            EXPECT_TRUE(contains(e.what(), "in PATH \"/usr/local/bin:/usr/bin:/bin\"")) << e.what();
        }
    }
    {
        // No PATH anywhere: /usr/local/bin:/usr/bin:/bin, where `true` lives.
        scoped_env path("PATH", nullptr);
        EXPECT_TRUE(command("true").run().success());
    }
}

TEST(command, program_with_slash_is_not_searched) {
    temp_dir dir;
    write_file(dir.path() / "tool", "#!/bin/sh\necho here\n", fs::perms::owner_all);
    // Relative to the child's working directory (after cwd()), not looked up in PATH.
    const auto r = command("./tool").cwd(dir.path()).env("PATH", "/nonexistent").output();
    EXPECT_EQ(r.out, "here\n");
}

TEST(command, inherits_the_environment_at_spawn_time) {
    command c(helper("print_env"));
    scoped_env later("BROOD_TEST_LATE", "set-after-building");
    const auto r = c.output();
    EXPECT_TRUE(contains(r.out, "BROOD_TEST_LATE=set-after-building\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "PATH=")) << r.out;
}

TEST(command, sets_and_unsets_variables) {
    scoped_env a("BROOD_TEST_A", "from-parent");
    scoped_env b("BROOD_TEST_B", "from-parent");
    const auto r = command(helper("print_env"))
                       .env("BROOD_TEST_A", "overridden")
                       .env_remove("BROOD_TEST_B")
                       .env("BROOD_TEST_C", "new=with=equals")
                       .output();
    const auto env = lines(r.out);
    auto has = [&](const std::string& entry) { return std::find(env.begin(), env.end(), entry) != env.end(); };
    EXPECT_TRUE(has("BROOD_TEST_A=overridden"));
    EXPECT_FALSE(has("BROOD_TEST_A=from-parent"));
    EXPECT_FALSE(contains(r.out, "BROOD_TEST_B="));
    EXPECT_TRUE(has("BROOD_TEST_C=new=with=equals"));
}

TEST(command, cleared_environment_has_only_what_was_set) {
    scoped_env a("BROOD_TEST_A", "from-parent");
    const auto r = command(helper("print_env")).env("DROPPED", "x").env_clear().env("ONLY", "this").output();
    EXPECT_EQ(r.out, "ONLY=this\n");
    const auto empty = command(helper("print_env")).env_clear().output();
    EXPECT_EQ(empty.out, "");
}

TEST(command, changes_working_directory) {
    temp_dir dir;
    const auto r = command(helper("print_cwd")).cwd(dir.path()).output();
    ASSERT_TRUE(r.status.success());
    EXPECT_EQ(r.out, fs::canonical(dir.path()).string() + "\n");
}

// ---------------------------------------------------------------------------------------------
// Standard streams and fds

TEST(command, stdio_inherit_uses_the_parents_streams) {
    pipe_pair p;
    const int saved = ::dup(1);
    ASSERT_GE(saved, 0);
    ::dup2(p.write.get(), 1);
    const auto status = command(helper("print_args")).arg("to-parent-stdout").run();
    ::dup2(saved, 1);
    ::close(saved);
    p.write.reset();
    EXPECT_TRUE(status.success());
    EXPECT_EQ(read_all(p.read.get()), helper("print_args") + "\nto-parent-stdout\n");
}

TEST(command, stdio_null) {
    // stdin from /dev/null: cat reads nothing; stdout to /dev/null: nothing arrives.
    const auto r = command(helper("cat_stdin")).set_stdin(stdio::null()).output();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "0\n");

    auto c = command(helper("chatter")).arg("100000").arg("10").set_stdout(stdio::null()).set_stderr(stdio::pipe()).spawn();
    unique_fd err = std::move(c.stderr_pipe());
    EXPECT_FALSE(c.stdout_pipe());
    EXPECT_EQ(read_all(err.get()), "abcdefghij");
    EXPECT_TRUE(c.wait().success());
}

TEST(command, stdio_pipes) {
    auto c = command(helper("cat_stdin"))
                 .set_stdin(stdio::pipe())
                 .set_stdout(stdio::pipe())
                 .set_stderr(stdio::pipe())
                 .spawn();
    ASSERT_TRUE(c.stdin_pipe() && c.stdout_pipe() && c.stderr_pipe());
    ASSERT_EQ(::write(c.stdin_pipe().get(), "hello", 5), 5);
    c.stdin_pipe().reset();
    EXPECT_EQ(read_all(c.stdout_pipe().get()), "hello");
    EXPECT_EQ(read_all(c.stderr_pipe().get()), "5\n");
    EXPECT_TRUE(c.wait().success());
}

// The child opens /dev/null before its limits: one limited to 3 fds still gets it, and is spawned.
// (It then fails to run: the dynamic loader has no fd left to open libc with. That is the
// program's failure, after the exec, not the spawn's.)
TEST(command, stdio_null_with_room_for_three_fds) {
    brood::child c =
        command(helper("noop")).rlimit(RLIMIT_NOFILE, 3, 3).set_stdin(stdio::null()).set_stderr(stdio::null()).spawn();
    EXPECT_EQ(c.wait(), brood::wait_status(brood::exited{127}));
}

TEST(command, stdio_files) {
    temp_dir dir;
    const fs::path in = dir.path() / "in", out = dir.path() / "out";
    write_file(in, "from a file", fs::perms::owner_read | fs::perms::owner_write);

    auto r = command(helper("cat_stdin")).set_stdin(stdio::file(in)).set_stdout(stdio::file(out)).run();
    EXPECT_TRUE(r.success());
    EXPECT_EQ(read_file(out), "from a file");

    // Truncated by default, appended on request.
    command(helper("print_args")).arg0("x").set_stdout(stdio::file(out)).run();
    EXPECT_EQ(read_file(out), "x\n");
    command(helper("print_args")).arg0("y").set_stdout(stdio::file(out, true)).run();
    EXPECT_EQ(read_file(out), "x\ny\n");
}

TEST(command, stdio_file_that_cannot_be_opened_is_a_prepare_error) {
    const auto e = expect_spawn_failure(command(helper("noop")).set_stdout(stdio::file("/nonexistent-dir/out")),
                                        spawn_stage::prepare, ENOENT);
    EXPECT_TRUE(contains(e.what(), "\"/nonexistent-dir/out\"")) << e.what();
    EXPECT_TRUE(contains(e.what(), "stdout")) << e.what();
}

TEST(command, stdio_fd_is_shared_not_taken) {
    pipe_pair p;
    const auto status = command(helper("print_args")).arg0("via-fd").set_stdout(stdio::fd(p.write.get())).run();
    EXPECT_TRUE(status.success());
    EXPECT_GE(::fcntl(p.write.get(), F_GETFD), 0) << "the parent's fd must stay open";
    p.write.reset();
    EXPECT_EQ(read_all(p.read.get()), "via-fd\n");
}

TEST(command, stdout_and_stderr_can_be_swapped) {
    // The child's stdout is the parent's fd 2 and its stderr the parent's fd 1: each source is the
    // other's target, so one must be moved out of the way first.
    pipe_pair out, err;
    const int saved_out = ::dup(1), saved_err = ::dup(2);
    ASSERT_GE(saved_out, 0);
    ASSERT_GE(saved_err, 0);
    ::dup2(out.write.get(), 1);
    ::dup2(err.write.get(), 2);
    const auto status =
        command(helper("chatter")).arg("3").arg("5").set_stdout(stdio::fd(2)).set_stderr(stdio::fd(1)).run();
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    ::close(saved_out);
    ::close(saved_err);
    out.write.reset();
    err.write.reset();
    EXPECT_TRUE(status.success());
    EXPECT_EQ(read_all(out.read.get()), "abcde");  // what the child wrote to its stderr
    EXPECT_EQ(read_all(err.read.get()), "abc");
}

TEST(command, inherit_fd_maps_parent_fds_to_child_fds) {
    pipe_pair p;
    const auto r = command(helper("print_fds")).set_stdin(stdio::null()).inherit_fd(7, p.write.get()).output();
    EXPECT_EQ(r.out, "0 1 2 7\n");

    // Through a shell, data written to the child's fd 7 arrives at the parent's pipe.
    const auto status = command("/bin/sh").arg("-c").arg("echo through-fd-7 >&7").inherit_fd(7, p.write.get()).run();
    EXPECT_TRUE(status.success());
    p.write.reset();
    EXPECT_EQ(read_all(p.read.get()), "through-fd-7\n");

    EXPECT_THROW(command("x").inherit_fd(2, p.read.get()), std::invalid_argument);
    EXPECT_THROW(command("x").inherit_fd(5, -1), std::invalid_argument);
}

TEST(command, inherit_fd_swaps_fds_that_collide) {
    pipe_pair a, b;
    const int fa = a.write.get(), fb = b.write.get();
    // The child's fa is the parent's fb and the other way round.
    const auto status = command("/bin/sh")
                            .arg("-c")
                            .arg("echo to-b >&" + std::to_string(fa) + "; echo to-a >&" + std::to_string(fb))
                            .inherit_fd(fa, fb)
                            .inherit_fd(fb, fa)
                            .run();
    EXPECT_TRUE(status.success());
    a.write.reset();
    b.write.reset();
    EXPECT_EQ(read_all(a.read.get()), "to-a\n");
    EXPECT_EQ(read_all(b.read.get()), "to-b\n");
}

TEST(command, closes_every_other_fd) {
    pipe_pair leaky(0);  // not close-on-exec: a plain exec would leak it
    const std::string listed = command(helper("print_fds")).set_stdin(stdio::null()).output().out;
    EXPECT_EQ(listed, "0 1 2\n");

    const std::string kept =
        command(helper("print_fds")).set_stdin(stdio::null()).close_other_fds(false).output().out;
    EXPECT_TRUE(contains(kept, " " + std::to_string(leaky.read.get()))) << kept;
    EXPECT_TRUE(contains(kept, " " + std::to_string(leaky.write.get()))) << kept;
}

// The identity of every open fd of this process: its file, and whether it is close-on-exec.
std::map<int, std::tuple<dev_t, ino_t, int>> fd_identities() {
    std::map<int, std::tuple<dev_t, ino_t, int>> result;
    for (const int fd : brood::testing::open_fds()) {
        struct stat st{};
        if (::fstat(fd, &st) != 0) continue;  // the directory listing's own fd, closed since
        result[fd] = {st.st_dev, st.st_ino, ::fcntl(fd, F_GETFD) & FD_CLOEXEC};
    }
    return result;
}

// The child shares this process's fd table until it has copied the fds it needs into one of its
// own: its dup3 onto 0, 1, 2 and its targets, and its closing of every other fd, must change only
// its own. 600 fds here (within the usual limit of 1,024), with sources above and targets below.
TEST(command, the_childs_redirections_leave_the_parents_fds_as_they_were) {
    std::vector<unique_fd> held;
    for (int i = 0; i < 600; ++i) held.emplace_back(::open("/dev/null", O_RDONLY | (i % 2 == 0 ? O_CLOEXEC : 0)));
    pipe_pair out;
    const auto before = fd_identities();
    const int source = held.back().get();  // far above the targets
    const int target = held[5].get();       // an fd the parent holds
    auto r = command(helper("print_fds"))
                 .set_stdin(stdio::fd(held[300].get()))
                 .set_stdout(stdio::fd(out.write.get()))
                 .set_stderr(stdio::null())
                 .inherit_fd(target, source)
                 .spawn();
    const auto after_spawn = fd_identities();
    EXPECT_TRUE(r.wait().success());
    out.write.reset();
    EXPECT_EQ(read_all(out.read.get()), "0 1 2 " + std::to_string(target) + "\n");
    EXPECT_EQ(after_spawn.size(), before.size() + 1);  // the child's pidfd, and nothing else changed
    for (const auto& [fd, identity] : before) {
        const auto found = after_spawn.find(fd);
        ASSERT_NE(found, after_spawn.end()) << "fd " << fd << " was closed";
        EXPECT_EQ(found->second, identity) << "fd " << fd << " was changed";
    }
}

// Given only fds below 64, a child copies no more of a parent's 600: its table is as small as any
// new process's, not one it would have to fill and empty again before its exec.
TEST(command, a_child_given_low_fds_copies_only_those_from_a_long_table) {
    std::vector<unique_fd> held;
    for (int i = 0; i < 600; ++i) held.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    // stdin from /dev/null too: the child opens it itself, where the parent's open would be fd 600.
    brood::child c = command(helper("pause")).set_stdin(stdio::null()).set_stdout(stdio::fd(held[10].get())).spawn();
    EXPECT_EQ(brood::testing::fd_table_size(c.pid()), 64u);
    EXPECT_GE(brood::testing::fd_table_size(::getpid()), 1024u);  // the parent's, for contrast
    c.kill();
    c.wait();
}

// Another thread opens fds that are not close-on-exec while children are made: a child sees the
// table at the moment it copies it, and keeps none of them.
TEST(command, fds_opened_by_another_thread_during_spawns_stay_out_of_the_children) {
    std::atomic<bool> stop{false};
    std::thread opener([&] {
        std::vector<int> open;
        while (!stop.load()) {
            for (int i = 0; i < 64; ++i) open.push_back(::open("/dev/null", O_RDONLY));  // no O_CLOEXEC
            for (const int fd : open) ::close(fd);
            open.clear();
        }
    });
    int wrong = 0;
    std::string last;
    for (int i = 0; i < 200; ++i) {
        const auto r = command(helper("print_fds")).set_stdin(stdio::null()).output();
        if (r.out != "0 1 2\n" || !r.status.success()) {
            ++wrong;
            last = r.out;
        }
    }
    stop = true;
    opener.join();
    EXPECT_EQ(wrong, 0) << last;
}

// ---------------------------------------------------------------------------------------------
// Process attributes

TEST(command, process_group) {
    auto leader = command(helper("pause")).set_stdin(stdio::null()).process_group().spawn();
    EXPECT_EQ(::getpgid(leader.pid()), leader.pid());
    auto member = command(helper("pause")).set_stdin(stdio::null()).process_group(leader.pid()).spawn();
    EXPECT_EQ(::getpgid(member.pid()), leader.pid());
    EXPECT_EQ(::getsid(member.pid()), ::getsid(0));
}

TEST(command, process_group_that_does_not_exist_fails) {
    const auto e = expect_spawn_failure(command(helper("noop")).process_group(0x3ffffff0), spawn_stage::process_group, EPERM);
    EXPECT_TRUE(contains(e.what(), std::to_string(0x3ffffff0))) << e.what();
}

TEST(command, new_session) {
    auto c = command(helper("pause")).set_stdin(stdio::null()).new_session().spawn();
    EXPECT_EQ(::getsid(c.pid()), c.pid());
    EXPECT_EQ(::getpgid(c.pid()), c.pid());
    // A new group as well is what setsid gives already.
    auto both = command(helper("pause")).set_stdin(stdio::null()).new_session().process_group().spawn();
    EXPECT_EQ(::getsid(both.pid()), both.pid());
    EXPECT_EQ(::getpgid(both.pid()), both.pid());
}

// A pseudo-terminal made here: the master's fd and the slave's, both close-on-exec.
struct test_pty {
    unique_fd master;
    unique_fd slave;
};
test_pty open_test_pty() {
    test_pty p;
    p.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!p.master || ::grantpt(p.master.get()) != 0 || ::unlockpt(p.master.get()) != 0) return p;
    p.slave.reset(::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    return p;
}

// /dev/tty opens only in a process that has a controlling terminal.
constexpr const char* has_controlling_terminal = "test -t 0 && echo stdin-is-a-terminal; "
                                                 "if (: </dev/tty) 2>/dev/null; then echo has-ctty; else echo no-ctty; fi";

TEST(command, controlling_terminal_is_the_slave_given) {
    test_pty pty = open_test_pty();
    ASSERT_TRUE(pty.slave) << brood::errno_name(errno);
    const auto r = command("/bin/sh").arg("-c").arg(has_controlling_terminal)
                       .set_stdin(stdio::fd(pty.slave.get()))
                       .set_stderr(stdio::null())
                       .controlling_terminal(pty.slave.get())
                       .output();
    EXPECT_TRUE(r.status.success()) << r.status.to_string();
    EXPECT_EQ(r.out, "stdin-is-a-terminal\nhas-ctty\n");
}

TEST(command, a_terminal_as_stdin_alone_is_no_controlling_terminal) {
    test_pty pty = open_test_pty();
    ASSERT_TRUE(pty.slave) << brood::errno_name(errno);
    const auto r = command("/bin/sh").arg("-c").arg(has_controlling_terminal)
                       .set_stdin(stdio::fd(pty.slave.get()))
                       .set_stderr(stdio::null())
                       .new_session()
                       .output();
    EXPECT_EQ(r.out, "stdin-is-a-terminal\nno-ctty\n");
}

TEST(command, controlling_terminal_that_is_no_terminal_fails) {
    const unique_fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    const auto e = expect_spawn_failure(command(helper("noop")).controlling_terminal(null.get()), spawn_stage::terminal, ENOTTY);
    EXPECT_TRUE(contains(e.what(), "controlling terminal")) << e.what();
}

TEST(command, die_with_parent_signals_when_the_spawning_thread_exits) {
    brood::child c;
    std::string first_words;
    std::thread spawner([&] {
        c = command(helper("pause"))
                .arg("up")
                .set_stdin(stdio::null())
                .set_stdout(stdio::pipe())
                .die_with_parent(SIGTERM)
                .spawn();
        // Wait until it runs (pause writes its line).
        char ch;
        while (first_words.size() < 3 && ::read(c.stdout_pipe().get(), &ch, 1) == 1) first_words += ch;
    });
    spawner.join();
    ASSERT_TRUE(c);
    EXPECT_EQ(first_words, "up\n");
    const auto status = c.wait_for(10s);
    ASSERT_TRUE(status) << "the child outlived the thread that spawned it";
    EXPECT_EQ(status->signal(), SIGTERM) << status->to_string();
}

TEST(command, umask) {
    auto info = self_info(command(helper("self_info")).umask(027));
    EXPECT_EQ(info["umask"], "0027");
    info = self_info(command(helper("self_info")).umask(0));
    EXPECT_EQ(info["umask"], "0000");
}

TEST(command, resource_limits) {
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    auto info = self_info(
        command(helper("self_info")).rlimit(RLIMIT_NOFILE, 123, nofile.rlim_max).rlimit(RLIMIT_CORE, 0, 0));
    EXPECT_EQ(info["nofile_soft"], "123");
    EXPECT_EQ(info["core_soft"], "0");
    EXPECT_EQ(info["core_hard"], "0");
}

TEST(command, bad_resource_limit_names_the_limit) {
    const auto e = expect_spawn_failure(command(helper("noop")).rlimit(RLIMIT_NOFILE, 10, 5), spawn_stage::rlimit, EINVAL);
    EXPECT_TRUE(contains(e.what(), "RLIMIT_NOFILE")) << e.what();
}

TEST(command, user_and_groups) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto info = self_info(command(helper("self_info")).user(65534).group(65534));
    EXPECT_EQ(info["uid"], "65534");
    EXPECT_EQ(info["gid"], "65534");
    EXPECT_EQ(info["groups"], "65534") << "root's supplementary groups must be dropped with its uid";

    info = self_info(command(helper("self_info")).group(100).supplementary_groups({100, 65534}).user(65534));
    EXPECT_EQ(info["uid"], "65534");
    EXPECT_EQ(info["gid"], "100");
    EXPECT_EQ(info["groups"], "100,65534");
}

TEST(command, user_alone_brings_its_groups) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (setuid, setgroups)";
    const passwd* nobody = ::getpwuid(65534);
    ASSERT_NE(nobody, nullptr) << "no user 65534 (nobody) in this system's user database";
    const std::string gid = std::to_string(nobody->pw_gid);
    auto info = self_info(command(helper("self_info")).user(65534));
    EXPECT_EQ(info["uid"], "65534");
    EXPECT_EQ(info["gid"], gid) << "nobody's primary group, not root's 0";
    EXPECT_EQ(info["groups"], gid) << "nobody is in no other group on Debian";
}

// A user database of the test's own: a user with two supplementary groups, and one group it is not in.
constexpr std::string_view test_passwd = "root:x:0:0:root:/root:/bin/sh\n"
                                         "brood-test:x:4242:4242::/nonexistent:/bin/sh\n";
constexpr std::string_view test_group = "root:x:0:\n"
                                        "brood-test:x:4242:\n"
                                        "brood-a:x:4243:someone,brood-test\n"
                                        "brood-b:x:4244:brood-test\n"
                                        "brood-c:x:4245:someone\n";

// What self_info prints when cmd is spawned with the test's user database: in a forked child with a
// mount namespace of its own, where the test's passwd and group files are bind-mounted over
// /etc/passwd and /etc/group. A spawn_error comes back as "spawn_error <errno name>: <what>".
std::string with_test_users(const command& cmd) {
    temp_dir dir;
    write_file(dir.path() / "passwd", test_passwd, fs::perms::owner_read | fs::perms::owner_write);
    write_file(dir.path() / "group", test_group, fs::perms::owner_read | fs::perms::owner_write);
    auto result = brood::fork_call([&]() -> std::string {
        brood::testing::use_user_database(dir.path());
        try {
            const auto r = command(cmd).set_stdin(stdio::null()).output();
            if (!r.status.success()) throw std::runtime_error("self_info " + r.status.to_string() + ": " + r.err);
            return r.out;
        } catch (const spawn_error& e) {
            return "spawn_error " + brood::errno_name(e.error()) + ": " + e.what();
        }
    });
    return result.get();
}

TEST(command, user_takes_its_groups_from_the_user_database) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (setuid, setgroups, mount namespaces)";
    for (const command& c : {command(helper("self_info")).user(4242), command(helper("self_info")).user("brood-test")}) {
        auto info = info_lines(with_test_users(c));
        EXPECT_EQ(info["uid"], "4242");
        EXPECT_EQ(info["gid"], "4242");
        EXPECT_EQ(info["groups"], "4242,4243,4244");
    }
}

TEST(command, explicit_group_and_groups_win_over_the_user_database) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (setuid, setgroups, mount namespaces)";
    // Another primary group: the user's supplementary groups with it, as su -g and systemd's Group= do.
    auto info = info_lines(with_test_users(command(helper("self_info")).user(4242).group(4245)));
    EXPECT_EQ(info["gid"], "4245");
    EXPECT_EQ(info["groups"], "4243,4244,4245");

    info = info_lines(with_test_users(command(helper("self_info")).user(4242).supplementary_groups({4245})));
    EXPECT_EQ(info["gid"], "4242");
    EXPECT_EQ(info["groups"], "4245");

    // A uid with no entry: its group must be given, and it has no supplementary groups.
    info = info_lines(with_test_users(command(helper("self_info")).user(4300).group(4301)));
    EXPECT_EQ(info["uid"], "4300");
    EXPECT_EQ(info["gid"], "4301");
    EXPECT_EQ(info["groups"], "");
}

TEST(command, user_without_an_entry_needs_a_group) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (setuid, setgroups, mount namespaces)";
    const auto uid = with_test_users(command(helper("self_info")).user(4300));
    EXPECT_EQ(uid.rfind("spawn_error ENOENT: ", 0), 0u) << uid;
    EXPECT_TRUE(contains(uid, "prepare group of uid 4300 (no entry in the user database: set group())")) << uid;
    const auto name = with_test_users(command(helper("self_info")).user("brood-nobody"));
    EXPECT_EQ(name.rfind("spawn_error ENOENT: ", 0), 0u) << name;
    EXPECT_TRUE(contains(name, "prepare user \"brood-nobody\" (no entry in the user database)")) << name;
}

TEST(command, user_change_is_not_seen_by_the_parents_threads) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    std::atomic<bool> stop{false};
    std::thread other([&] {
        while (!stop) std::this_thread::sleep_for(1ms);
    });
    EXPECT_TRUE(command(helper("noop")).user(65534).group(65534).run().success());
    stop = true;
    other.join();
    EXPECT_EQ(::getuid(), 0u);
    EXPECT_EQ(::geteuid(), 0u);
    EXPECT_EQ(::getgid(), 0u);
}

TEST(command, resets_signals_for_the_child) {
    struct sigaction handler{}, old_usr1{};
    handler.sa_handler = [](int) {};
    ::sigaction(SIGUSR1, &handler, &old_usr1);
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t usr2, old_mask;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &usr2, &old_mask);

    auto info = self_info(command(helper("self_info")));

    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGUSR1, &old_usr1, nullptr);
    ::signal(SIGPIPE, SIG_DFL);

    EXPECT_EQ(info["SigBlk"], "0000000000000000");
    EXPECT_EQ(std::stoull(info["SigIgn"], nullptr, 16) & (1ull << (SIGPIPE - 1)), 0u) << info["SigIgn"];
}

// A handler of the parent's never runs in a child before its exec, however signals come: the
// child shares the parent's memory until then. A process group of its own, a thread that signals
// the whole group without pause (the children are in it until their exec), and a handler that
// notes any process but its own: a hundred spawns through the storm, and the note stays clear.
namespace {
std::atomic<pid_t> handler_owner{0};
std::atomic<pid_t> handler_ran_in{0};
void note_foreign_handler(int) {
    if (const pid_t self = ::getpid(); self != handler_owner.load()) handler_ran_in.store(self);
}
}  // namespace

TEST(command, no_handler_of_the_parent_s_runs_in_a_child_under_a_storm_of_signals) {
    const pid_t tester = ::fork();
    ASSERT_GE(tester, 0);
    if (tester == 0) {
        ::setpgid(0, 0);
        handler_owner = ::getpid();
        struct sigaction handler{};
        handler.sa_handler = note_foreign_handler;
        handler.sa_flags = SA_RESTART;
        ::sigaction(SIGUSR1, &handler, nullptr);
        std::atomic<bool> stop{false};
        std::thread storm([&] {
            while (!stop) ::kill(0, SIGUSR1);
        });
        int spawned = 0;
        for (int i = 0; i < 100; ++i) {
            try {
                command(helper("noop")).set_stdin(stdio::null()).run();
                ++spawned;
            } catch (const std::exception&) {
                // A child ended by the storm before its exec reports as a failed spawn: allowed.
            }
        }
        stop = true;
        storm.join();
        ::_exit(handler_ran_in.load() != 0 ? 1 : spawned > 0 ? 0 : 2);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(tester, &status, 0), tester);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_NE(WEXITSTATUS(status), 1) << "a handler of the parent's ran in a child before its exec";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "no spawn went through";
}

TEST(command, into_cgroup) {
    // Needs a writable cgroup v2 hierarchy; skip where there is none (cgroup v1, no rights).
    const auto base = brood::current_cgroup();
    if (!base) GTEST_SKIP() << "no cgroup v2 hierarchy";
    std::optional<brood::cgroup> group;
    try {
        group = brood::cgroup::create(*base / ("brood-test-" + std::to_string(::getpid())));
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "cannot create a cgroup: " << e.what();
    }
    try {
        auto c = command(helper("pause")).set_stdin(stdio::null()).into_cgroup(group->fd()).spawn();
        const std::string cgroup = read_file("/proc/" + std::to_string(c.pid()) + "/cgroup");
        EXPECT_TRUE(contains(cgroup, "/" + group->path().filename().string() + "\n")) << cgroup;
        c.kill();
        c.wait();
    } catch (const spawn_error& e) {
        group->remove();
        GTEST_SKIP() << "the kernel refused: " << e.what();
    }
    EXPECT_NO_THROW(group->remove());
}

TEST(command, drop_policy_is_copied_into_the_child) {
    auto c = command(helper("trap_term"))
                 .set_stdin(stdio::null())
                 .set_stdout(stdio::pipe())
                 .on_drop(brood::drop_policy::terminate(5s))
                 .spawn();
    EXPECT_EQ(c.get_drop_policy().what, brood::drop_policy::action::terminate);
    unique_fd out = std::move(c.stdout_pipe());
    char ready[6];
    ASSERT_EQ(::read(out.get(), ready, sizeof ready), 6);  // handler installed
    c = brood::child();                                      // drop: SIGTERM, then reaped
    EXPECT_EQ(read_all(out.get()), "term\n");
}

TEST(command, can_be_spawned_many_times) {
    const command c = command(helper("exit_code")).arg("3");
    for (int i = 0; i < 20; ++i) EXPECT_EQ(c.run().code(), 3);
}

TEST(command, works_with_glibc_clone_where_clone3_is_refused) {
    brood::detail::use_clone3_for_testing(false);
    const auto r = command(helper("print_fds")).set_stdin(stdio::null()).inherit_fd(9, 2).output();
    auto c = command(helper("pause")).set_stdin(stdio::null()).spawn();
    EXPECT_GE(c.pidfd(), 0);
    c.kill();
    EXPECT_EQ(c.wait().signal(), SIGKILL);
    expect_spawn_failure(command("/nonexistent/program"), spawn_stage::exec, ENOENT);
    brood::detail::use_clone3_for_testing(true);
    EXPECT_TRUE(r.status.success());
    EXPECT_EQ(r.out, "0 1 2 9\n");
}

// ---------------------------------------------------------------------------------------------
// output() and run()

std::string pattern(std::size_t size) {
    std::string text(size, '\0');
    for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
    return text;
}

TEST(command_output, reads_megabytes_on_both_streams_without_deadlock) {
    constexpr std::size_t size = 8 * 1024 * 1024;
    const auto r = command(helper("chatter")).arg(std::to_string(size)).arg(std::to_string(size)).output();
    ASSERT_TRUE(r.status.success()) << r.status.to_string();
    EXPECT_FALSE(r.timed_out);
    ASSERT_EQ(r.out.size(), size);
    ASSERT_EQ(r.err.size(), size);
    const std::string expected = pattern(size);
    EXPECT_TRUE(r.out == expected);
    EXPECT_TRUE(r.err == expected);
}

TEST(command_output, feeds_input) {
    const std::string input = pattern(4 * 1024 * 1024 + 17);
    const auto r = command(helper("cat_stdin")).output({.input = input, .timeout = {}});
    ASSERT_TRUE(r.status.success());
    EXPECT_TRUE(r.out == input);
    EXPECT_EQ(r.err, std::to_string(input.size()) + "\n");

    const auto empty = command(helper("cat_stdin")).output({.input = std::string(), .timeout = {}});
    EXPECT_EQ(empty.out, "");
    EXPECT_EQ(empty.err, "0\n");

    // A stdin pipe without input to feed: closed at once, the child sees EOF rather than hanging.
    const auto no_input = command(helper("cat_stdin")).set_stdin(stdio::pipe()).output({.input = {}, .timeout = 10s});
    EXPECT_FALSE(no_input.timed_out);
    EXPECT_EQ(no_input.err, "0\n");
}

TEST(command_output, child_closing_stdin_early_does_not_kill_the_parent) {
    // SIGPIPE at its default action would end this test process.
    ::signal(SIGPIPE, SIG_DFL);
    const auto r = command(helper("noop")).output({.input = pattern(8 * 1024 * 1024), .timeout = {}});
    EXPECT_TRUE(r.status.success());
    sigset_t pending;
    ::sigpending(&pending);
    EXPECT_FALSE(::sigismember(&pending, SIGPIPE)) << "a SIGPIPE was left pending";
    sigset_t mask;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    EXPECT_FALSE(::sigismember(&mask, SIGPIPE)) << "SIGPIPE left blocked";
}

TEST(command_output, timeout_kills_reaps_and_keeps_output) {
    const auto start = std::chrono::steady_clock::now();
    // Long enough for a sanitized helper to start and print on a loaded machine.
    const auto r = command(helper("pause")).arg("partial").output({.input = {}, .timeout = 2s});
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.status.signal(), SIGKILL) << r.status.to_string();
    EXPECT_EQ(r.out, "partial\n");
    EXPECT_GE(took, 2s);
    EXPECT_LT(took, 20s);

    // SIGTERM would not do: the timeout kills with SIGKILL.
    const auto stubborn = command(helper("ignore_term")).output({.input = {}, .timeout = 2s});
    EXPECT_TRUE(stubborn.timed_out);
    EXPECT_EQ(stubborn.out, "ready\n");
}

TEST(command_output, no_timeout_when_the_child_is_quick) {
    const auto r = command(helper("exit_code")).arg("4").output({.input = {}, .timeout = 10s});
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status.code(), 4);
}

TEST(command_run, waits_and_returns_the_status) {
    EXPECT_EQ(command(helper("exit_code")).arg("7").run().code(), 7);
    EXPECT_TRUE(command(helper("noop")).run().success());
    // A pipe nobody reads is closed rather than left to block the child.
    EXPECT_TRUE(command(helper("chatter")).arg("1000000").arg("0").set_stdout(stdio::pipe()).run().terminal());
}

// ---------------------------------------------------------------------------------------------
// Bad input: a clear spawn_error, no child left, no fd leaked, one copy of this process

TEST(command_errors, program_not_found) {
    auto e = expect_spawn_failure(command("/no/such/program"), spawn_stage::exec, ENOENT);
    EXPECT_STREQ(e.what(), "spawn \"/no/such/program\": exec failed: ENOENT: No such file or directory");

    e = expect_spawn_failure(command("brood-no-such-program").env("PATH", "/nonexistent:/also-not"),
                             spawn_stage::exec, ENOENT);
    EXPECT_TRUE(contains(e.what(), "\"brood-no-such-program\"")) << e.what();
    EXPECT_TRUE(contains(e.what(), "/nonexistent:/also-not")) << e.what();
}

TEST(command_errors, not_executable) {
    temp_dir dir;
    const fs::path file = dir.path() / "plain";
    write_file(file, "#!/bin/sh\n", fs::perms::owner_read | fs::perms::owner_write);
    expect_spawn_failure(command(file.string()), spawn_stage::exec, EACCES);

    // Found only without exec permission in PATH: EACCES, naming the file.
    const auto e = expect_spawn_failure(command("plain").env("PATH", dir.path().string()), spawn_stage::exec, EACCES);
    EXPECT_TRUE(contains(e.what(), file.string())) << e.what();
}

TEST(command_errors, directory) {
    temp_dir dir;
    expect_spawn_failure(command(dir.path().string()), spawn_stage::exec, EACCES);
}

TEST(command_errors, exec_format_error) {
    temp_dir dir;
    const fs::path file = dir.path() / "garbage";
    write_file(file, std::string("\x01\x02garbage, not a program\n"), fs::perms::owner_all);
    const auto e = expect_spawn_failure(command(file.string()), spawn_stage::exec, ENOEXEC);
    EXPECT_TRUE(contains(e.what(), "ENOEXEC")) << e.what();
}

TEST(command_errors, missing_working_directory) {
    const auto e = expect_spawn_failure(command(helper("noop")).cwd("/no/such/dir"), spawn_stage::chdir, ENOENT);
    EXPECT_EQ(std::string(e.what()),
              "spawn \"" + helper("noop") + "\": chdir \"/no/such/dir\" failed: ENOENT: No such file or directory");
}

TEST(command_errors, invalid_strings) {
    expect_spawn_failure(command(helper("noop")).arg(std::string("a\0b", 3)), spawn_stage::prepare, EINVAL);
    expect_spawn_failure(command(helper("noop")).env("A=B", "x"), spawn_stage::prepare, EINVAL);
    expect_spawn_failure(command(helper("noop")).env("", "x"), spawn_stage::prepare, EINVAL);
    expect_spawn_failure(command(""), spawn_stage::prepare, ENOENT);
}

TEST(command_errors, bad_fd_to_redirect) {
    const auto e = expect_spawn_failure(command(helper("noop")).set_stdout(stdio::fd(999)), spawn_stage::redirect, EBADF);
    EXPECT_TRUE(contains(e.what(), "fd 999")) << e.what();
}

TEST(command_errors, redirect_failure_in_the_child) {
    // The child's own RLIMIT_NOFILE leaves no room to move a colliding fd out of the way.
    pipe_pair a, b;
    const int fa = a.write.get(), fb = b.write.get();
    expect_spawn_failure(command(helper("noop")).rlimit(RLIMIT_NOFILE, 3, 3).inherit_fd(fa, fb).inherit_fd(fb, fa),
                         spawn_stage::redirect, EMFILE);
}

// Runs body in a forked copy of this process (single-threaded there) and expects it to exit 0.
template <class F>
void in_forked_process(F body) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int code = 100;
        try {
            code = body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "forked test body threw: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    int raw = 0;
    ASSERT_EQ(::waitpid(pid, &raw, 0), pid);
    ASSERT_TRUE(WIFEXITED(raw)) << "forked test body was killed by signal " << WTERMSIG(raw);
    EXPECT_EQ(WEXITSTATUS(raw), 0) << "forked test body failed at check " << WEXITSTATUS(raw);
}

// Where there is no /dev/null (an empty /dev in a mount namespace of its own), the child says so.
TEST(command_errors, no_dev_null_is_a_redirect_error_naming_it) {
    in_forked_process([] {
        if (::unshare(CLONE_NEWNS) != 0) return 1;
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 2;
        if (::mount("tmpfs", "/dev", "tmpfs", 0, nullptr) != 0) return 3;
        try {
            command(helper("noop")).set_stdin(stdio::null()).spawn().wait();
            return 4;
        } catch (const spawn_error& e) {
            if (e.stage() != spawn_stage::redirect) return 5;
            if (e.error() != ENOENT) return 6;
            if (!contains(e.what(), "\"/dev/null\" to stdin")) return 7;
        }
        return brood::testing::own_children().empty() ? 0 : 8;
    });
}

TEST(command_errors, fd_limit_reached) {
    in_forked_process([] {
        // Only 0, 1, 2 open (made sure to exist), then limits that leave no room for the pipes of
        // stdio (prepare), or for the pidfd (clone).
        for (int fd = 0; fd < 3; ++fd)
            if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) != fd) return 1;
        ::close_range(3, ~0u, 0);
        auto try_spawn = [](const command& cmd) {
            std::optional<spawn_error> error;
            try {
                cmd.spawn();
            } catch (const spawn_error& e) {
                error = e;
            }
            return error;
        };
        // The same failure path once with fds to spare: UBSan's vptr checks of spawn_error then
        // hit its cache, and need no pipe of their own (there is no room for one at the limits).
        if (const auto warm_up = try_spawn(command("/nonexistent/program")); !warm_up || warm_up->stage() != spawn_stage::exec)
            return 2;
        rlimit old{};
        ::getrlimit(RLIMIT_NOFILE, &old);

        struct attempt {
            rlim_t limit;
            bool pipes;
            spawn_stage stage;
        };
        int check = 10;
        // 4: no room for the stdout pipe (3 and 4); 5: the pipe fits, the pidfd (5) does not;
        // 3: no pipe, no room for the pidfd.
        for (const attempt& a : {attempt{4, true, spawn_stage::prepare}, attempt{5, true, spawn_stage::clone},
                                 attempt{3, false, spawn_stage::clone}}) {
            command cmd(helper("noop"));
            if (a.pipes) cmd.set_stdout(stdio::pipe());
            const rlimit low{a.limit, old.rlim_max};
            if (::setrlimit(RLIMIT_NOFILE, &low) != 0) return check;
            const auto error = try_spawn(cmd);
            ::setrlimit(RLIMIT_NOFILE, &old);  // room to look at /proc/self/fd
            if (!error) return check + 1;
            if (error->stage() != a.stage) return check + 2;
            if (error->error() != EMFILE) return check + 3;
            if (!contains(error->what(), "EMFILE")) return check + 4;
            if (brood::testing::open_fds() != std::set<int>{0, 1, 2}) return check + 5;
            if (!brood::testing::own_children().empty()) return check + 6;
            check += 10;
        }
        // With the limit back, the same process spawns fine.
        if (!command(helper("noop")).set_stdout(stdio::pipe()).run().success()) return 90;
        return 0;
    });
}

// ---------------------------------------------------------------------------------------------
// Threads

TEST(command, spawns_from_eight_threads_at_once) {
    constexpr int threads = 8, rounds = 25;
    std::vector<pipe_pair> pipes(threads);
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const int child_fd = 10 + t;
            const std::string expected = "0 1 2 " + std::to_string(child_fd) + "\n";
            for (int i = 0; i < rounds; ++i) {
                try {
                    // While other threads hold fresh pipes: this child must see none of them.
                    const auto r = command(helper("print_fds"))
                                       .set_stdin(stdio::null())
                                       .inherit_fd(child_fd, pipes[t].write.get())
                                       .output();
                    if (r.out != expected || !r.status.success()) ++failures;
                    command(helper("noop")).cwd("/no/such/dir").spawn();
                    ++failures;  // must not be reached
                } catch (const spawn_error& e) {
                    if (e.stage() != spawn_stage::chdir) ++failures;
                } catch (...) {
                    ++failures;
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(failures.load(), 0);
}

}  // namespace
