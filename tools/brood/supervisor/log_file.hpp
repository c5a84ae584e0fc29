// A program instance's log file, rotated by size: NAME.N.log, then NAME.N.log.1 (the newest
// rotated) up to NAME.N.log.KEEP (the oldest); older ones are deleted.
//
//   log_file log(dir / ".brood/logs/web.0.log", program.log);
//   log.write("listening on 8080\n");   // whole lines, as output_relay hands them over
//
// A write that would take the file past max_size rotates first, at a line boundary, so no line is
// ever split across two files and no byte is lost. A single line longer than max_size is written
// alone into a fresh file (which then exceeds max_size). Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include <brood/unique_fd.hpp>

#include "supervisor/config.hpp"

namespace brood::supervisor {

class log_file {
public:
    // Creates the parent directories and opens file for appending (an existing file is kept and
    // counts towards max_size). Throws std::system_error naming the path.
    log_file(std::filesystem::path file, log_config config);

    // Appends bytes: whole lines, each ending in '\n'. Throws std::system_error naming the file
    // when writing or rotating fails (a full disk); the bytes written before stay written.
    void write(std::string_view bytes);

    // The file written now (rotated files are this path plus ".1", ".2" ...).
    const std::filesystem::path& path() const { return path_; }

private:
    void open();
    void rotate();
    void append(std::string_view bytes);

    std::filesystem::path path_;
    log_config config_;
    unique_fd fd_;
    std::uint64_t size_ = 0;
};

}  // namespace brood::supervisor
