#include "verbs/log_tail.hpp"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <iterator>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <brood/error.hpp>

#include "supervisor/rotated_log.hpp"

namespace brood::cli {
namespace {

constexpr std::size_t chunk = 64 * 1024;

// Empty when the file is missing: not written yet, or removed by a rotation.
unique_fd open_for_reading(const std::filesystem::path& file) {
    unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd && errno != ENOENT) throw_errno(errno, "open " + file.string());
    return fd;
}

struct stat stat_of(int fd, const std::filesystem::path& file) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) throw_errno(errno, "fstat " + file.string());
    return info;
}

// SEQ of the newest rotated file; 0 when there is none.
std::uint64_t newest_rotated(const std::filesystem::path& file) {
    const std::vector<std::uint64_t> sequence = supervisor::rotated_sequence(file);
    return sequence.empty() ? 0 : sequence.back();
}

// The last n lines of the file open at fd (fewer when it has fewer), each without its '\n'.
std::vector<std::string> last_lines(int fd, const std::filesystem::path& file, std::size_t n) {
    // Read backwards a chunk at a time until n line ends precede the last line (or the start).
    std::string tail;
    off_t start = stat_of(fd, file).st_size;
    std::size_t line_ends = 0;
    while (start > 0 && line_ends <= n) {
        const off_t size = std::min<off_t>(start, chunk);
        start -= size;
        std::string block(static_cast<std::size_t>(size), '\0');
        const ssize_t got = ::pread(fd, block.data(), block.size(), start);
        if (got < 0) throw_errno(errno, "read " + file.string());
        block.resize(static_cast<std::size_t>(got));
        line_ends += static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
        tail.insert(0, block);
    }
    // Whole lines only: the first piece is cut when the reading did not reach the file's start.
    std::vector<std::string> lines;
    for (std::string_view rest(tail); !rest.empty();) {
        const std::size_t end = std::min(rest.find('\n'), rest.size());
        lines.emplace_back(rest.substr(0, end));
        rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    if (start > 0 && !lines.empty()) lines.erase(lines.begin());
    if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
    return lines;
}

}  // namespace

log_tail::log_tail(std::filesystem::path file, std::string prefix, std::optional<log_filter> filter)
    : file_(std::move(file)), prefix_(std::move(prefix)), filter_(std::move(filter)) {
    open_file();
}

// The newest rotated file is looked at before and after the opening, until the same: a file
// rotated meanwhile could not be placed.
bool log_tail::open_file() {
    for (;;) {
        const std::uint64_t newest = newest_rotated(file_);
        fd_ = open_for_reading(file_);
        newest_older_ = newest_rotated(file_);
        if (newest_older_ == newest) break;
    }
    offset_ = 0;
    partial_.clear();
    if (!fd_) return false;
    const struct stat info = stat_of(fd_.get(), file_);
    device_ = info.st_dev;
    inode_ = info.st_ino;
    return true;
}

void log_tail::print_last(std::size_t n, std::FILE* out) {
    if (!fd_) return;
    if (filter_) return print_last_kept(n, out);
    offset_ = stat_of(fd_.get(), file_).st_size;
    std::vector<std::string> lines = last_lines(fd_.get(), file_, n);
    // Too few: the rotated files before it, newest first, while they last.
    for (std::uint64_t seq = newest_older_; lines.size() < n && seq > 0; --seq) {
        const std::filesystem::path older = supervisor::rotated_path(file_, seq);
        const unique_fd fd = open_for_reading(older);
        if (!fd) break;  // deleted as beyond keep, and every older one with it
        std::vector<std::string> more = last_lines(fd.get(), older, n - lines.size());
        lines.insert(lines.begin(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    for (const std::string& line : lines) fmt::print(out, "{}{}\n", prefix_, line);
    std::fflush(out);
}

// Which lines a filter keeps shows only by reading them: every file, oldest first, holding the last n kept.
void log_tail::print_last_kept(std::size_t n, std::FILE* out) {
    std::deque<std::string> kept;
    const auto read_file = [&](int fd, const std::filesystem::path& file, off_t end) {
        std::string partial;
        char buffer[chunk];
        for (off_t offset = 0; offset < end;) {
            const ssize_t got = ::pread(fd, buffer, std::min<off_t>(sizeof buffer, end - offset), offset);
            if (got < 0) throw_errno(errno, "read " + file.string());
            if (got == 0) break;
            offset += got;
            std::string_view bytes(buffer, static_cast<std::size_t>(got));
            for (std::size_t end; (end = bytes.find('\n')) != std::string_view::npos; bytes.remove_prefix(end + 1)) {
                partial.append(bytes.substr(0, end));
                if (keeps(*filter_, partial)) kept.push_back(std::move(partial));
                if (kept.size() > n) kept.pop_front();
                partial.clear();
            }
            partial.append(bytes);
        }
        if (!partial.empty() && keeps(*filter_, partial)) kept.push_back(std::move(partial));
        if (kept.size() > n) kept.pop_front();
    };
    for (const std::uint64_t seq : supervisor::rotated_sequence(file_)) {
        if (seq > newest_older_) break;
        const std::filesystem::path older = supervisor::rotated_path(file_, seq);
        if (const unique_fd fd = open_for_reading(older)) read_file(fd.get(), older, stat_of(fd.get(), older).st_size);
    }
    offset_ = stat_of(fd_.get(), file_).st_size;  // following starts there
    read_file(fd_.get(), file_, offset_);
    for (const std::string& line : kept) fmt::print(out, "{}{}\n", prefix_, line);
    std::fflush(out);
}

void log_tail::print_new(std::FILE* out) {
    if (fd_) {
        print_to_end(fd_.get(), offset_, out);
        struct stat now {};
        if (::stat(file_.c_str(), &now) == 0 && now.st_dev == device_ && now.st_ino == inode_) {
            if (now.st_size < offset_) {
                offset_ = 0;  // truncated in place
                partial_.clear();
            }
            return;
        }
        // Rotated (or deleted), and read to its end above. Rotated, it became newest_older_ + 1;
        // the files rotated after it come before the file at file_ now.
        end_partial_line(out);
        unread_from_ = newest_older_ + 2;
        fd_.reset();
    }
    if (!open_file()) return;  // rotated, new file not created yet
    for (std::uint64_t seq = unread_from_; unread_from_ != 0 && seq <= newest_older_; ++seq) {
        const std::filesystem::path between = supervisor::rotated_path(file_, seq);
        const unique_fd fd = open_for_reading(between);
        if (!fd) continue;  // deleted meanwhile, as beyond keep
        off_t offset = 0;
        print_to_end(fd.get(), offset, out);
        end_partial_line(out);
    }
    unread_from_ = 0;
    print_new(out);
}

void log_tail::print_to_end(int fd, off_t& offset, std::FILE* out) {
    char buffer[chunk];
    while (true) {
        const ssize_t got = ::pread(fd, buffer, sizeof buffer, offset);
        if (got < 0) throw_errno(errno, "read " + file_.string());
        if (got == 0) return;
        offset += got;
        print_lines(std::string_view(buffer, static_cast<std::size_t>(got)), out);
    }
}

// A file's last line without its '\n' (a file ends there): printed as a line of its own.
void log_tail::end_partial_line(std::FILE* out) {
    if (partial_.empty()) return;
    print_line(partial_, out);
    partial_.clear();
}

void log_tail::print_lines(std::string_view bytes, std::FILE* out) {
    while (!bytes.empty()) {
        const std::size_t end = bytes.find('\n');
        if (end == std::string_view::npos) {
            partial_.append(bytes);
            return;
        }
        partial_.append(bytes.substr(0, end));
        print_line(partial_, out);
        partial_.clear();
        bytes.remove_prefix(end + 1);
    }
    std::fflush(out);
}

void log_tail::print_line(std::string_view line, std::FILE* out) {
    if (!filter_ || keeps(*filter_, line)) fmt::print(out, "{}{}\n", prefix_, line);
}

}  // namespace brood::cli
