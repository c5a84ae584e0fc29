#include "supervisor/log_file.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>

#include <brood/error.hpp>

#include "supervisor/write_fully.hpp"

namespace brood::supervisor {

namespace {

std::filesystem::path rotated(const std::filesystem::path& file, unsigned generation) {
    std::filesystem::path result = file;
    result += "." + std::to_string(generation);
    return result;
}

// rename that accepts a missing source: not every generation exists yet.
void shift(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        throw_errno(errno, "rotate log \"" + from.string() + "\" to \"" + to.string() + "\"");
}

}  // namespace

log_file::log_file(std::filesystem::path file, log_config config) : path_(std::move(file)), config_(config) {
    std::error_code error;
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), error);
    if (error) throw std::system_error(error, "create log directory \"" + path_.parent_path().string() + "\"");
    open();
}

void log_file::open() {
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_) throw_errno(errno, "open log \"" + path_.string() + "\"");
    struct stat info {};
    if (::fstat(fd_.get(), &info) != 0) throw_errno(errno, "stat log \"" + path_.string() + "\"");
    size_ = static_cast<std::uint64_t>(info.st_size);
}

void log_file::rotate() {
    // Oldest first, so each rename overwrites the generation that falls off the end.
    for (unsigned generation = config_.keep; generation > 1; --generation)
        shift(rotated(path_, generation - 1), rotated(path_, generation));
    if (config_.keep > 0) {
        shift(path_, rotated(path_, 1));
    } else if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
        throw_errno(errno, "remove log \"" + path_.string() + "\"");
    }
    open();
}

void log_file::append(std::string_view bytes) {
    const int error = write_fully(fd_.get(), bytes);
    // O_APPEND: what was written before an error is in the file whatever the error was, so
    // counting the whole buffer can only rotate early, never let the file grow unchecked.
    size_ += bytes.size();
    if (error != 0) throw_errno(error, "write log \"" + path_.string() + "\"");
}

void log_file::write(std::string_view bytes) {
    const std::uint64_t max = config_.max_size;
    while (!bytes.empty()) {
        if (max == 0 || size_ + bytes.size() <= max) {
            append(bytes);
            return;
        }
        // The whole lines that still fit, then a fresh file for the rest.
        const std::size_t room = size_ < max ? static_cast<std::size_t>(max - size_) : 0;
        const std::size_t last_fitting = bytes.substr(0, room).rfind('\n');
        std::size_t take = 0;
        if (last_fitting != std::string_view::npos) {
            take = last_fitting + 1;
        } else if (size_ > 0) {
            rotate();
            continue;
        } else {
            // A line longer than max_size: alone in its own file rather than cut in two.
            const std::size_t end = bytes.find('\n');
            take = end == std::string_view::npos ? bytes.size() : end + 1;
        }
        append(bytes.substr(0, take));
        bytes.remove_prefix(take);
    }
}

}  // namespace brood::supervisor
