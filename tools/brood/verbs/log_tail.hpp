// brood logs: the last lines of instances' log files, and following them as they grow and rotate
// (supervisor/rotated_log.hpp: NAME.log is renamed NAME.log.SEQ, SEQ rising, and a new NAME.log
// started). Lines are printed in the order they were written, across the rotated files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

#include "verbs/log_filter.hpp"

namespace brood::cli {

class log_tail {
public:
    // prefix goes before every line printed ("web.0 | ", or "" for a single file). With filter,
    // only the lines it keeps are printed.
    log_tail(std::filesystem::path file, std::string prefix, std::optional<log_filter> filter = std::nullopt);

    // Prints the last n lines there are now, from the rotated files too when the file written now
    // has fewer (a missing file has none); following starts after them. With a filter, the last n
    // it keeps, from every file.
    void print_last(std::size_t n, std::FILE* out);
    // Prints the whole lines written since: those of files rotated meanwhile first, however many
    // rotations there were, then the new file's; it starts over after a truncation. Call it again
    // and again to follow the log.
    void print_new(std::FILE* out);

private:
    bool open_file();
    void print_to_end(int fd, off_t& offset, std::FILE* out);
    void print_lines(std::string_view bytes, std::FILE* out);
    void end_partial_line(std::FILE* out);
    void print_last_kept(std::size_t n, std::FILE* out);
    void print_line(std::string_view line, std::FILE* out);

    std::filesystem::path file_;
    std::string prefix_;
    std::optional<log_filter> filter_;
    unique_fd fd_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    off_t offset_ = 0;
    std::uint64_t newest_older_ = 0;  // SEQ of the newest rotated file older than the one open
    std::uint64_t unread_from_ = 0;   // after a rotation: the first rotated file not printed yet
    std::string partial_;  // the start of a line whose end has not been written yet
};

}  // namespace brood::cli
