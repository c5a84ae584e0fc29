#include "supervisor/log_file.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "supervisor/rotated_log.hpp"
#include "supervisor/write_fully.hpp"

namespace brood::supervisor {

namespace {

// Through the first '\n' of bytes (not empty), or all of it when it has none.
std::size_t first_line_length(std::string_view bytes) { return std::min(bytes.find('\n'), bytes.size() - 1) + 1; }

}  // namespace

log_file::log_file(std::filesystem::path file, log_config config, loss_listener listener, note_format format_note)
    : path_(std::move(file)), config_(config), listener_(std::move(listener)), format_note_(std::move(format_note)) {
    std::error_code error;
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), error);
    if (error) throw std::system_error(error, "create log directory \"" + path_.parent_path().string() + "\"");
    open();
    remove_beyond_keep();
}

void log_file::open() {
    // Readable too, to see whether the file ends inside a line.
    fd_.reset(::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_) throw_errno(errno, "open log \"" + path_.string() + "\"");
    struct stat info {};
    if (::fstat(fd_.get(), &info) != 0) throw_errno(errno, "stat log \"" + path_.string() + "\"");
    size_ = static_cast<std::uint64_t>(info.st_size);
    char last = '\n';
    if (size_ > 0 && ::pread(fd_.get(), &last, 1, info.st_size - 1) != 1) last = '\n';
    ends_inside_a_line_ = last != '\n';
    line_writer_ = nullptr;
}

// Files beyond keep (keep lowered since they were written) go; the newest keep stay. A deletion
// that fails here or in rotate() leaves a file too many, never worth failing the program for.
void log_file::remove_beyond_keep() {
    const std::vector<std::uint64_t> sequence = rotated_sequence(path_);
    if (sequence.empty()) return;
    newest_rotated_ = sequence.back();
    for (const std::uint64_t seq : sequence)
        if (seq + config_.keep <= newest_rotated_) (void)::unlink(rotated_path(path_, seq).c_str());
}

// A file deleted from under brood has nothing to rotate: its successor is simply created.
void log_file::rotate() {
    if (config_.keep == 0) {
        if (::unlink(path_.c_str()) != 0 && errno != ENOENT) throw_errno(errno, "remove log \"" + path_.string() + "\"");
    } else {
        const std::filesystem::path next = rotated_path(path_, newest_rotated_ + 1);
        if (::rename(path_.c_str(), next.c_str()) == 0) {
            ++newest_rotated_;
            if (newest_rotated_ > config_.keep) (void)::unlink(rotated_path(path_, newest_rotated_ - config_.keep).c_str());
        } else if (errno != ENOENT) {
            throw_errno(errno, "rotate log \"" + path_.string() + "\" to \"" + next.string() + "\"");
        }
    }
    open();
}

// Writes the first n bytes of rest and takes from rest what was written, a failure's part too.
void log_file::append(std::string_view& rest, std::size_t n) {
    std::size_t written = 0;
    const int error = write_fully(fd_.get(), rest.substr(0, n), &written);
    size_ += written;
    if (written > 0) ends_inside_a_line_ = rest[written - 1] != '\n';
    rest.remove_prefix(written);
    if (error != 0) throw_errno(error, "write log \"" + path_.string() + "\"");
}

// Writes rest, rotating between lines; throws when writing fails, rest then holds what was not written.
void log_file::place(std::string_view& rest) {
    // The end of a line goes into the file that has its start.
    if (ends_inside_a_line_ && !rest.empty()) append(rest, first_line_length(rest));
    const std::uint64_t max = config_.max_size;
    while (!rest.empty()) {
        if (max == 0 || size_ + rest.size() <= max) {
            append(rest, rest.size());
            return;
        }
        // The whole lines that still fit, then a fresh file for the rest.
        const std::size_t room = size_ < max ? static_cast<std::size_t>(max - size_) : 0;
        const std::size_t last_fitting = rest.substr(0, room).rfind('\n');
        if (last_fitting != std::string_view::npos) {
            append(rest, last_fitting + 1);
        } else if (size_ > 0) {
            rotate();
        } else {
            append(rest, first_line_length(rest));  // longer than max_size: alone in its own file
        }
    }
}

void log_file::write(std::string_view bytes, const void* writer) {
    std::string_view rest = bytes;
    try {
        if (failing_) resume();
        else if (deleted()) open();
        if (ends_inside_a_line_ && line_writer_ != writer) {
            std::string_view newline = "\n";
            append(newline, newline.size());
        }
        place(rest);
        line_writer_ = writer;  // after: a rotation in place() opens a file whose line has no writer
    } catch (const std::system_error& error) {
        lose(rest.size(), error);
        fd_.reset();  // let go of the file: deleted to make room, its space comes back at once
    }
}

// Removed by someone (to make room): written on, it would hold its space and show nobody the lines.
bool log_file::deleted() const {
    struct stat info {};
    return ::fstat(fd_.get(), &info) == 0 && info.st_nlink == 0;
}

// Tried before each write while writes fail: on the file at the log's path as it is then.
void log_file::resume() {
    open();
    std::string line = ends_inside_a_line_ ? "\n" : "";
    const std::string note = "brood: " + std::to_string(failing_->bytes) + " bytes of output lost: " + failing_->error;
    line += format_note_ ? format_note_(note) : note + "\n";
    std::string_view rest = line;
    place(rest);
    const log_loss ended = std::move(*failing_);
    failing_.reset();
    if (listener_) listener_(ended, true);
}

void log_file::lose(std::uint64_t bytes, const std::system_error& error) {
    lost_bytes_ += bytes;
    if (failing_) {
        failing_->bytes += bytes;
        return;
    }
    failing_ = log_loss{error.what(), bytes};
    if (listener_) listener_(*failing_, false);
}

}  // namespace brood::supervisor
