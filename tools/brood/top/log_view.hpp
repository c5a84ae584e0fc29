// brood top's log view: the last lines of one instance's log, then each line written after, read
// by brood logs' own log_tail (verbs/log_tail.hpp) into memory instead of a terminal.
#pragma once

#include <cstddef>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <string>

#include "verbs/log_tail.hpp"

namespace brood::cli {

class log_view {
public:
    // Reads the last `keep` lines of file; at most that many are kept as more come.
    log_view(std::string name, const std::filesystem::path& file, std::size_t keep);
    ~log_view();
    log_view(const log_view&) = delete;
    log_view& operator=(const log_view&) = delete;

    // Reads what was written since (across rotations, as brood logs -f); true when lines came.
    bool follow();

    const std::string& name() const { return name_; }
    const std::deque<std::string>& lines() const { return lines_; }

private:
    bool take_printed();

    std::string name_;
    std::size_t keep_;
    // log_tail prints to a FILE: here, one that writes to memory (open_memstream), emptied after
    // each read.
    char* buffer_ = nullptr;
    std::size_t size_ = 0;
    std::FILE* printed_ = nullptr;
    log_tail tail_;
    std::deque<std::string> lines_;
};

}  // namespace brood::cli
