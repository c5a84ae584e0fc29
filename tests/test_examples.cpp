// Runs each example program and checks, from what it prints, the claim of the tutorial it shows:
// not only that it ran, but that the pids, values and events it reports are consistent.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <brood/brood.hpp>

#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using captures = std::vector<std::string>;

std::string example(const std::string& name) { return std::string(BROOD_EXAMPLES_DIR) + "/" + name; }

// Runs an example to its end and checks that it ended well and quietly.
std::vector<std::string> run_example(const std::string& name) {
    const brood::process_output result = brood::command(example(name)).output({.input = {}, .timeout = 60s});
    EXPECT_FALSE(result.timed_out) << name;
    EXPECT_EQ(result.status, brood::exited{0}) << name << " printed:\n" << result.out << result.err;
    EXPECT_EQ(result.err, "") << name;
    std::vector<std::string> lines;
    std::istringstream text(result.out);
    for (std::string line; std::getline(text, line);) lines.push_back(line);
    return lines;
}

// Matches a whole line against literal text with {} holes, each standing for a run of non-space
// characters that ends where the text after the hole begins. The holes' texts, in order.
std::optional<captures> match(std::string_view line, std::string_view pattern) {
    captures holes;
    for (;;) {
        const std::size_t hole = pattern.find("{}");
        const std::string_view literal = pattern.substr(0, hole);
        if (!line.starts_with(literal)) return std::nullopt;
        line.remove_prefix(literal.size());
        if (hole == std::string_view::npos) return line.empty() ? std::optional(holes) : std::nullopt;
        pattern.remove_prefix(hole + 2);
        const std::string_view next = pattern.substr(0, pattern.find("{}"));
        const std::size_t end = next.empty() ? line.size() : line.find(next);
        const std::string_view text = line.substr(0, end);
        if (end == std::string_view::npos || text.empty() || text.find(' ') != std::string_view::npos)
            return std::nullopt;
        holes.emplace_back(text);
        line.remove_prefix(end);
    }
}

std::size_t holes_in(std::string_view pattern) {
    std::size_t n = 0;
    for (std::size_t at = pattern.find("{}"); at != std::string_view::npos; at = pattern.find("{}", at + 2)) ++n;
    return n;
}

// The holes of every line that matches pattern, in output order.
std::vector<captures> matching(const std::vector<std::string>& lines, std::string_view pattern) {
    std::vector<captures> found;
    for (const std::string& line : lines)
        if (auto holes = match(line, pattern)) found.push_back(std::move(*holes));
    return found;
}

// The holes of the one line that matches; fails the test (and returns empty strings) otherwise.
captures only(const std::vector<std::string>& lines, std::string_view pattern) {
    auto found = matching(lines, pattern);
    EXPECT_EQ(found.size(), 1u) << "lines matching: " << pattern;
    return found.empty() ? captures(holes_in(pattern)) : found[0];
}

// The holes of line i, which must match pattern.
captures line_at(const std::vector<std::string>& lines, std::size_t i, std::string_view pattern) {
    if (i < lines.size())
        if (auto holes = match(lines[i], pattern)) return *holes;
    ADD_FAILURE() << "line " << i << " is not " << pattern << ":\n  " << (i < lines.size() ? lines[i] : "(missing)");
    return captures(holes_in(pattern));
}

// Index of the line that matches pattern, or the number of lines.
std::size_t position(const std::vector<std::string>& lines, std::string_view pattern) {
    return std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return match(l, pattern).has_value(); }) -
           lines.begin();
}

// A whole decimal pid, or -1.
pid_t as_pid(const std::string& text) {
    pid_t pid = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pid);
    return error == std::errc() && end == text.data() + text.size() ? pid : -1;
}

// Reads a running example's output line by line, each within a deadline.
class line_reader {
public:
    explicit line_reader(int fd) : fd_(fd) {}

    // The next line, or nullopt at end of output or when nothing complete came within timeout.
    std::optional<std::string> next(std::chrono::milliseconds timeout = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (const std::size_t end = buffer_.find('\n'); end != std::string::npos) {
                std::string line = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return line;
            }
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd ready{fd_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char chunk[512];
            const ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    // Skips lines until one matches pattern (see match); its holes, or nullopt if none came in time.
    std::optional<captures> until(std::string_view pattern, std::vector<std::string>* skipped = nullptr) {
        while (auto line = next()) {
            if (auto holes = match(*line, pattern)) return holes;
            if (skipped) skipped->push_back(*line);
        }
        return std::nullopt;
    }

private:
    int fd_;
    std::string buffer_;
};

}  // namespace

// "pid = os.fork(): in the parent the return value is the child's pid, in the child it is 0";
// "this line is executed by both the parent and the child".
TEST(examples, fork_returns_twice) {
    const auto lines = run_example("fork_returns_twice");
    const pid_t parent = as_pid(only(lines, "parent: pid {} before fork")[0]);
    const auto in_parent = only(lines, "parent: fork returned child pid {}, getpid={} getppid={}");
    const auto in_child = only(lines, "child: fork returned 0, getpid={} getppid={}");
    const pid_t child = as_pid(in_parent[0]);
    EXPECT_GT(child, 0);
    EXPECT_EQ(as_pid(in_parent[1]), parent);
    EXPECT_EQ(as_pid(in_child[0]), child) << "the pid the parent got is the child's own pid";
    EXPECT_EQ(as_pid(in_child[1]), parent) << "the child's parent is the process that forked";
    EXPECT_NE(child, parent);

    std::multiset<pid_t> both;
    for (const auto& m : matching(lines, "both: this line is run by parent and child, here by pid {}"))
        both.insert(as_pid(m[0]));
    EXPECT_EQ(both, (std::multiset<pid_t>{parent, child})) << "once in each process";
    only(lines, "parent: child " + std::to_string(child) + " exited with code 0");
}

// "Processes do not share global variables": the child's num = 10 leaves the parent's num at 100.
TEST(examples, no_shared_globals) {
    const auto lines = run_example("no_shared_globals");
    const auto before = only(lines, "child {}: num=100 at {}");
    const auto after = only(lines, "child {}: set num=10 at {}");
    const auto parent = only(lines, "parent {}: num={} at {}");
    EXPECT_GT(as_pid(before[0]), 0);
    EXPECT_EQ(before[0], after[0]);
    EXPECT_EQ(parent[1], "100") << "the parent's copy is unchanged";
    EXPECT_EQ(before[1], parent[2]) << "at the same address: the same variable, in separate memory";
    EXPECT_EQ(after[1], parent[2]);
    only(lines, "parent: child " + before[0] + " exited with code 0");
    EXPECT_LT(position(lines, "child {}: set num=10 at {}"), position(lines, "parent {}: num={} at {}"))
        << "the parent looked after the child had changed its copy";
}

// "Each child changed the age attribute, so each prints a different age, but tf's address is the
// same in every process": copy-on-write copies the written page, not the object's identity.
TEST(examples, copy_on_write) {
    const auto lines = run_example("copy_on_write");
    const auto children = matching(lines, "child {}: age={} object at {}");
    const auto parent = only(lines, "parent {}: age={} object at {}");
    ASSERT_EQ(children.size(), 3u);
    std::set<pid_t> pids;
    for (const auto& c : children) {
        EXPECT_EQ(c[1], c[0]) << "each child sees the value it set: its own pid";
        EXPECT_EQ(c[2], parent[2]) << "the object is at the same address in every process";
        pids.insert(as_pid(c[0]));
    }
    EXPECT_EQ(pids.size(), 3u);
    EXPECT_FALSE(pids.contains(as_pid(parent[0])));
    EXPECT_EQ(parent[1], "10") << "the parent's object keeps its value";

    // The 64 MiB buffer: shared after fork, copied page by page as the child writes it.
    constexpr std::uint64_t most = (64u << 20) * 9 / 10;
    const auto before = only(lines, "child {}: before writing: shared={} private_dirty={}");
    const auto after = only(lines, "child {}: after writing: shared={} private_dirty={}");
    const std::uint64_t shared_before = std::stoull(before[1]), private_before = std::stoull(before[2]);
    const std::uint64_t shared_after = std::stoull(after[1]), private_after = std::stoull(after[2]);
    EXPECT_GE(shared_before, most) << "right after fork the buffer is shared with the parent";
    EXPECT_LT(private_before, most / 9) << "and the child has copied almost nothing";
    EXPECT_GE(private_after - private_before, most) << "every page written was copied for the child";
    EXPECT_LE(shared_after + most, shared_before) << "and is no longer shared";
    const auto kept = only(lines, "parent {}: {} of {} pages still hold 'p'");
    EXPECT_EQ(kept[1], kept[2]) << "the parent's pages were never written";
}

// "If the child exits while the parent lives, it becomes a zombie; the parent must reap it";
// "os.wait() returns the child's pid and its status".
TEST(examples, zombie_reaping) {
    const auto lines = run_example("zombie_reaping");
    const std::string child = only(lines, "child {}: exiting with code 3")[0];
    const std::size_t zombie = position(lines, "parent: child " + child + " has exited, before wait its state is Z (zombie)");
    const std::size_t reaped = position(lines, "parent: wait returned pid " + child + ", exited with code 3");
    const std::size_t gone = position(lines, "parent: after wait, /proc/" + child + " is gone");
    EXPECT_LT(zombie, reaped) << "Z before the wait";
    EXPECT_LT(reaped, gone) << "gone after it";
    EXPECT_LT(gone, lines.size());
    only(lines, "parent: the handle of child " + child + " says exited with code 3");
}

// waitpid(pid > 0 | 0 | -1 | < -1, WNOHANG): each selector picks the children the tutorial lists.
TEST(examples, waitpid_selectors) {
    const auto lines = run_example("waitpid_selectors");
    ASSERT_EQ(lines.size(), 11u);
    const std::string worker = line_at(lines, 0, "parent: started child {}")[0];
    line_at(lines, 1, "WNOHANG: no child has changed yet");  // the worker was still running
    line_at(lines, 2, "pid > 0: child " + worker + " exited with code 1");

    const auto same_group = line_at(lines, 3, "parent: started child {} in my group {}");
    EXPECT_EQ(as_pid(same_group[1]), ::getpgrp()) << "the example runs in our group, its child too";
    line_at(lines, 4, "pid = 0: child " + same_group[0] + " exited with code 2");

    const auto group = line_at(lines, 5, "parent: started child {} leading group {} and child {} joining it");
    EXPECT_EQ(group[0], group[1]);
    line_at(lines, 6, "pid < -1: child " + group[2] + " exited with code 4");  // the member; the leader waits
    line_at(lines, 7, "pid < -1: child " + group[0] + " exited with code 5");

    const std::string any = line_at(lines, 8, "parent: started child {}")[0];
    line_at(lines, 9, "pid = -1: child " + any + " exited with code 6");
    line_at(lines, 10, "pid = -1: no children to wait for");  // ECHILD, as a value
}

// WUNTRACED | WCONTINUED: the parent is told "stopped, not exited" on SIGSTOP and "continued" on
// SIGCONT, in that order, and the child stops printing while it is stopped.
TEST(examples, monitor_stop_continue) {
    brood::child watcher = brood::command(example("monitor_stop_continue")).set_stdout(brood::stdio::pipe()).spawn();
    line_reader out(watcher.stdout_pipe().get());

    const auto watching = out.until("parent: watching child {} (kill -STOP {}, kill -CONT {}, kill -TERM {})");
    ASSERT_TRUE(watching);
    const std::string child = (*watching)[0];
    const pid_t pid = as_pid(child);
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(out.until("child " + child + ": tick {}")) << "the child runs and prints";

    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    ASSERT_TRUE(out.until("parent: child " + child + " stopped by SIGSTOP: it has not exited, only stopped working"));
    EXPECT_EQ(brood::proc::read_process(pid)->state, 'T');
    EXPECT_FALSE(out.next(2500ms)) << "a stopped child prints nothing (it ticks every second)";

    ASSERT_EQ(::kill(pid, SIGCONT), 0);
    std::vector<std::string> before_continued;
    ASSERT_TRUE(out.until("parent: child " + child + " continued: it runs again", &before_continued));
    EXPECT_TRUE(std::all_of(before_continued.begin(), before_continued.end(),
                            [&](const std::string& l) { return match(l, "child " + child + ": tick {}"); }))
        << "no other event came between the stop and the continue";
    ASSERT_TRUE(out.until("child " + child + ": tick {}")) << "it prints again";

    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    ASSERT_TRUE(out.until("parent: child " + child + " ended: killed by SIGTERM"));
    EXPECT_FALSE(out.next()) << "nothing after the end";
    EXPECT_EQ(watcher.wait(), brood::exited{0});
    EXPECT_FALSE(brood::proc::read_process(pid)) << "the child was reaped";
}

// "If the parent ends before the child, the child is adopted (by init) and reaped when it exits":
// here by the example itself, made a child subreaper.
TEST(examples, orphan_adoption) {
    const auto lines = run_example("orphan_adoption");
    const std::string subreaper = only(lines, "subreaper {}: is_subreaper=yes")[0];
    const auto middle = only(lines, "middle {}: started child {}, exiting without waiting for it");
    const std::string& orphan = middle[1];
    EXPECT_GT(as_pid(orphan), 0);
    only(lines, "orphan " + orphan + ": started, my parent is " + middle[0]);
    only(lines, "orphan " + orphan + ": my parent is now " + subreaper);
    only(lines, "subreaper: middle " + middle[0] + " exited with code 0");
    only(lines, "subreaper: orphan " + orphan + " was adopted, its parent is now " + subreaper + " (me)");
    only(lines, "subreaper: reaped orphan " + orphan + ": exited with code 5");
    only(lines, "subreaper: children left: 0");
    EXPECT_FALSE(brood::proc::read_process(as_pid(orphan))) << "reaped, not a zombie";
}

// "Three os.fork() calls in a row make eight processes; the line after them is printed eight
// times" -- and every forked process is reaped by its own parent.
TEST(examples, three_forks) {
    const auto lines = run_example("three_forks");
    std::map<pid_t, pid_t> parent_of;
    for (const auto& m : matching(lines, "hello from pid {}, parent {}"))
        EXPECT_TRUE(parent_of.emplace(as_pid(m[0]), as_pid(m[1])).second) << "pid " << m[0] << " said hello twice";
    ASSERT_EQ(parent_of.size(), 8u);

    std::vector<pid_t> roots;
    for (const auto& [pid, parent] : parent_of)
        if (!parent_of.contains(parent)) roots.push_back(pid);
    ASSERT_EQ(roots.size(), 1u) << "one first process; the seven others descend from it";
    const pid_t first = roots[0];

    std::map<pid_t, int> children;
    std::set<pid_t> reaped;
    for (const auto& m : matching(lines, "pid {} reaped child {}: exited with code 0")) {
        const pid_t reaper = as_pid(m[0]), child = as_pid(m[1]);
        EXPECT_EQ(parent_of[child], reaper) << "each process is reaped by its own parent";
        EXPECT_TRUE(reaped.insert(child).second) << "and only once";
        ++children[reaper];
    }
    EXPECT_EQ(reaped.size(), 7u);
    EXPECT_FALSE(reaped.contains(first));
    EXPECT_EQ(children[first], 3) << "the first process forked three times, its first child twice, ...";
    only(lines, "first process " + std::to_string(first) + ": 8 processes printed hello");
    for (const auto& [pid, parent] : parent_of) EXPECT_FALSE(brood::proc::read_process(pid)) << "zombie " << pid;
}
