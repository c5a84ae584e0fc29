// brood logs: the last lines of instances' log files, and following them as they grow and rotate
// (supervisor/log_file renames NAME.log to NAME.log.1 and starts a new NAME.log).
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::cli {

class log_tail {
public:
    // prefix goes before every line printed ("web.0 | ", or "" for a single file).
    log_tail(std::filesystem::path file, std::string prefix);

    // Prints the last n lines there are now (a missing file has none); following starts after them.
    void print_last(std::size_t n, std::FILE* out);
    // Prints the whole lines written since, switching to the new file after a rotation and
    // starting over after a truncation. Call it again and again to follow the file.
    void print_new(std::FILE* out);

private:
    void open_file();
    void print_lines(std::string_view bytes, std::FILE* out);

    std::filesystem::path file_;
    std::string prefix_;
    unique_fd fd_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    off_t offset_ = 0;
    std::string partial_;  // the start of a line whose end has not been written yet
};

}  // namespace brood::cli
