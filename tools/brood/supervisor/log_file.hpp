// A program instance's log file, rotated by size into numbered files (rotated_log.hpp): a rotation
// costs one rename and one deletion, however many files are kept.
//
//   log_file log(dir / ".brood/logs/web.0.log", program.log, [](const log_loss& loss, bool resumed) { ... });
//   log.write("listening on 8080\n", this);   // as output_relay hands them over
//
// Rotation happens only between lines, so no line is split across two files and no byte is lost
// to it. A line longer than max_size is written alone into a fresh file (which then exceeds
// max_size). Bytes may end inside a line: the writer finishes it with its next write; a write from
// anyone else first ends it with a newline, so two writers' lines never run into each other.
//
// A log file deleted while it is written is created again by the next write.
//
// A write that fails (a full disk) harms nobody: its bytes are dropped and counted, the listener
// hears once that the log is failing, and every later write tries again, on the file as it is then
// (brood does not hold it meanwhile, so deleting it gives its space back). The first that works
// writes a line saying what was lost, and the listener hears that the log is written again. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <brood/unique_fd.hpp>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// One episode of writes that failed, from the first failure to the first write that works again.
struct log_loss {
    std::string error;        // the first failure: write log "…": ENOSPC: No space left on device
    std::uint64_t bytes = 0;  // output dropped so far
};

class log_file {
public:
    // Told when writing fails after it worked (resumed false, loss.bytes: the first write's), and
    // when it works again (resumed true, loss.bytes: all that the episode dropped).
    using loss_listener = std::function<void(const log_loss& loss, bool resumed)>;
    // A line of brood's own ("brood: 22 bytes of output lost: …") in the log's format, with its
    // newline, so that a json log stays one object per line. Without one: the text and a newline.
    using note_format = std::function<std::string(std::string_view note)>;

    // Creates the parent directories and opens file for appending (an existing file is kept and
    // counts towards max_size); deletes rotated files beyond keep. Throws std::system_error naming
    // the path.
    log_file(std::filesystem::path file, log_config config, loss_listener listener = {}, note_format format_note = {});

    // Appends bytes: whole lines, the last of which may be unfinished. writer is any address that
    // is the writer's own (an output_relay passes itself).
    void write(std::string_view bytes, const void* writer = nullptr);

    // The file written now (rotated files are this path plus ".SEQ").
    const std::filesystem::path& path() const { return path_; }
    // The episode of failed writes going on, if one is.
    const std::optional<log_loss>& failing() const { return failing_; }
    // Bytes of output dropped since the log was opened, in every episode.
    std::uint64_t lost_bytes() const { return lost_bytes_; }

private:
    void open();
    void remove_beyond_keep();
    void rotate();
    void place(std::string_view& rest);
    void append(std::string_view& rest, std::size_t n);
    bool deleted() const;
    void resume();
    void lose(std::uint64_t bytes, const std::system_error& error);

    std::filesystem::path path_;
    log_config config_;
    loss_listener listener_;
    note_format format_note_;
    unique_fd fd_;
    std::uint64_t size_ = 0;
    std::uint64_t newest_rotated_ = 0;  // SEQ of the newest rotated file; 0: none yet
    bool ends_inside_a_line_ = false;   // the file's last byte is not '\n'
    const void* line_writer_ = nullptr;  // whose line that is
    std::optional<log_loss> failing_;
    std::uint64_t lost_bytes_ = 0;
};

}  // namespace brood::supervisor
