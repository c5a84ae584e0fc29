// bench/spawn_python.py in --serve mode, for spawn_compare and spawn_memory: it greets with
// "python VERSION rss_kib=N" and answers "METHOD N PROGRAM" with µs per spawn+wait.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "measure.hpp"
#include "python_peer.hpp"

namespace brood_bench {

class python_helper {
public:
    python_helper(const std::string& python, const std::string& script, const std::vector<std::string>& extra = {})
        : peer_(python, script, extra) {
        if (std::sscanf(peer_.greeting().c_str(), "python %63s rss_kib=%ld", version_, &rss_kib_) != 2)
            die("python helper said: " + peer_.greeting());
    }
    std::string version() const { return version_; }
    long rss_kib() const { return rss_kib_; }
    double run(const std::string& method, int n, const std::string& program) {
        return peer_.ask(method + " " + std::to_string(n) + " " + program);
    }

private:
    python_peer peer_;
    char version_[64] = {};
    long rss_kib_ = 0;
};

}  // namespace brood_bench
