// bench/spawn_python.py in --serve mode, for spawn_compare and spawn_memory: one request line in
// ("METHOD N PROGRAM"), one line out (µs per spawn+wait); "quit" ends it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "measure.hpp"

extern char** environ;

namespace brood_bench {

class python_helper {
public:
    // Starts PYTHON SCRIPT --serve EXTRA... and reads its greeting.
    python_helper(const std::string& python, const std::string& script, std::vector<std::string> extra = {}) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) die("pipe2 failed");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        std::vector<std::string> args = {python, script, "--serve"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int err = posix_spawn(&pid_, python.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (err != 0) die("cannot start " + python + ": " + std::strerror(err));
        close(in[0]);
        close(out[1]);
        to_ = fdopen(in[1], "w");
        from_ = fdopen(out[0], "r");
        const std::string hello = read_line();  // "python 3.11.2 rss_kib=12345"
        if (std::sscanf(hello.c_str(), "python %63s rss_kib=%ld", version_, &rss_kib_) != 2)
            die("python helper said: " + hello);
    }
    ~python_helper() {
        std::fputs("quit\n", to_);
        std::fclose(to_);
        std::fclose(from_);
        int status;
        waitpid(pid_, &status, 0);
    }
    python_helper(const python_helper&) = delete;
    python_helper& operator=(const python_helper&) = delete;

    std::string version() const { return version_; }
    long rss_kib() const { return rss_kib_; }
    double run(const std::string& method, int n, const std::string& program) {
        std::fprintf(to_, "%s %d %s\n", method.c_str(), n, program.c_str());
        std::fflush(to_);
        const std::string reply = read_line();
        char* end = nullptr;
        const double us = std::strtod(reply.c_str(), &end);
        if (end == reply.c_str()) die("python helper: " + reply);
        return us;
    }

private:
    std::string read_line() {
        char buf[512];
        if (!std::fgets(buf, sizeof buf, from_)) die("python helper exited");
        std::string s(buf);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        return s;
    }
    pid_t pid_ = -1;
    FILE* to_ = nullptr;
    FILE* from_ = nullptr;
    char version_[64] = {};
    long rss_kib_ = 0;
};

}  // namespace brood_bench
