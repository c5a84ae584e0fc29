// The shared test fixture: every test must leave no child process (running or zombie) and no
// file descriptor behind. Installed for every test by support/main.cpp as a gtest listener, so a
// test that leaks fails, by name, and the leftovers are cleaned up before the next test runs.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/types.h>

namespace brood::testing {

// Open fds of this process, from /proc/self/fd.
std::set<int> open_fds();
// How many fds another process has open, from /proc/PID/fd (0 when it cannot be read).
std::size_t fd_count(pid_t pid);
// The slots of a process's fd table (FDSize in /proc/PID/status): 64 for a table copied from a
// few fds, more for a copy of a longer one. 0 when it cannot be read.
unsigned fd_table_size(pid_t pid);
// Direct children of this process (any thread's), zombies included.
std::vector<pid_t> own_children();

class leak_check : public ::testing::EmptyTestEventListener {
public:
    void OnTestStart(const ::testing::TestInfo& test) override;
    void OnTestEnd(const ::testing::TestInfo& test) override;

private:
    std::set<int> fds_before_;
};

// Path of a helper program built from tests/helpers/<name>.c.
std::string helper(const std::string& name);

}  // namespace brood::testing
