#include "support/leak_check.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace brood::testing {

std::set<int> open_fds() {
    std::set<int> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return fds;
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        const int fd = std::stoi(entry->d_name);
        if (fd != own) fds.insert(fd);
    }
    ::closedir(dir);
    return fds;
}

std::size_t fd_count(pid_t pid) {
    std::size_t count = 0;
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (dir == nullptr) return count;
    while (const dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count;
}

unsigned fd_table_size(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("FDSize:", 0) == 0) return static_cast<unsigned>(std::stoul(line.substr(7)));
    return 0;
}

std::vector<pid_t> own_children() {
    std::vector<pid_t> children;
    DIR* dir = ::opendir("/proc/self/task");
    if (dir == nullptr) return children;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        std::ifstream file(std::string("/proc/self/task/") + entry->d_name + "/children");
        for (pid_t pid; file >> pid;) children.push_back(pid);
    }
    ::closedir(dir);
    return children;
}

namespace {

std::string describe(const std::vector<pid_t>& pids) {
    std::ostringstream text;
    for (pid_t pid : pids) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        text << "\n  " << line.substr(0, 60);
    }
    return text.str();
}

// Children may still be on their way out (a handle's destructor killed them and reaped them is
// synchronous, but a detached child is reaped by brood's reaper thread): give them a moment.
std::vector<pid_t> children_after_grace() {
    auto children = own_children();
    for (int i = 0; i < 100 && !children.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        children = own_children();
    }
    return children;
}

}  // namespace

void leak_check::OnTestStart(const ::testing::TestInfo&) { fds_before_ = open_fds(); }

// gtest calls OnTestEnd of later-appended listeners first, so a failure added here is part of the
// test's result before the default printer reports it.
void leak_check::OnTestEnd(const ::testing::TestInfo&) {
    const auto children = children_after_grace();
    if (!children.empty()) {
        ADD_FAILURE() << "test left " << children.size() << " child process(es) behind:" << describe(children);
        for (pid_t pid : children) ::kill(pid, SIGKILL);
        for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
    }
    const auto fds_after = open_fds();
    std::ostringstream leaked;
    for (int fd : fds_after)
        if (!fds_before_.contains(fd)) leaked << ' ' << fd;
    if (!leaked.str().empty()) ADD_FAILURE() << "test leaked file descriptor(s):" << leaked.str();
}

std::string helper(const std::string& name) { return std::string(BROOD_HELPERS_DIR) + "/" + name; }

}  // namespace brood::testing
