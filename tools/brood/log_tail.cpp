#include "log_tail.hpp"

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <brood/error.hpp>

namespace brood::cli {
namespace {

constexpr std::size_t chunk = 64 * 1024;

}  // namespace

log_tail::log_tail(std::filesystem::path file, std::string prefix)
    : file_(std::move(file)), prefix_(std::move(prefix)) {
    open_file();
}

void log_tail::open_file() {
    fd_ = unique_fd(::open(file_.c_str(), O_RDONLY | O_CLOEXEC));
    offset_ = 0;
    partial_.clear();
    struct stat info {};
    if (!fd_) {
        if (errno != ENOENT) throw_errno(errno, "open " + file_.string());
        return;  // not written yet: following picks it up once it exists
    }
    if (::fstat(fd_.get(), &info) != 0) throw_errno(errno, "fstat " + file_.string());
    device_ = info.st_dev;
    inode_ = info.st_ino;
}

void log_tail::print_last(std::size_t n, std::FILE* out) {
    if (!fd_) return;
    struct stat info {};
    if (::fstat(fd_.get(), &info) != 0) throw_errno(errno, "fstat " + file_.string());
    // Read backwards a chunk at a time until n line ends precede the last line (or the start).
    std::string tail;
    off_t start = info.st_size;
    std::size_t line_ends = 0;
    while (start > 0 && line_ends <= n) {
        const off_t size = std::min<off_t>(start, chunk);
        start -= size;
        std::string block(static_cast<std::size_t>(size), '\0');
        const ssize_t got = ::pread(fd_.get(), block.data(), block.size(), start);
        if (got < 0) throw_errno(errno, "read " + file_.string());
        block.resize(static_cast<std::size_t>(got));
        line_ends += static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
        tail.insert(0, block);
    }
    offset_ = info.st_size;
    // Whole lines only: the first piece is cut when the reading did not reach the file's start.
    std::vector<std::string_view> lines;
    for (std::string_view rest(tail); !rest.empty();) {
        const std::size_t end = std::min(rest.find('\n'), rest.size());
        lines.push_back(rest.substr(0, end));
        rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    if (start > 0 && !lines.empty()) lines.erase(lines.begin());
    for (std::size_t i = lines.size() - std::min(n, lines.size()); i < lines.size(); ++i)
        fmt::print(out, "{}{}\n", prefix_, lines[i]);
    std::fflush(out);
}

void log_tail::print_new(std::FILE* out) {
    if (!fd_) {
        open_file();
        if (!fd_) return;
    }
    char buffer[chunk];
    while (true) {
        const ssize_t got = ::pread(fd_.get(), buffer, sizeof buffer, offset_);
        if (got < 0) throw_errno(errno, "read " + file_.string());
        if (got == 0) break;
        offset_ += got;
        print_lines(std::string_view(buffer, static_cast<std::size_t>(got)), out);
    }
    struct stat now {};
    if (::stat(file_.c_str(), &now) != 0) return;  // rotated, new file not created yet
    if (now.st_dev != device_ || now.st_ino != inode_) {
        // Rotated: everything of the old file was read above; its new file starts from 0.
        if (!partial_.empty()) fmt::print(out, "{}{}\n", prefix_, partial_);
        open_file();
        print_new(out);
    } else if (now.st_size < offset_) {
        offset_ = 0;  // truncated in place
        partial_.clear();
    }
}

void log_tail::print_lines(std::string_view bytes, std::FILE* out) {
    while (!bytes.empty()) {
        const std::size_t end = bytes.find('\n');
        if (end == std::string_view::npos) {
            partial_.append(bytes);
            return;
        }
        fmt::print(out, "{}{}{}\n", prefix_, partial_, bytes.substr(0, end));
        partial_.clear();
        bytes.remove_prefix(end + 1);
    }
    std::fflush(out);
}

}  // namespace brood::cli
