#include "top/log_view.hpp"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <brood/error.hpp>

namespace brood::cli {
namespace {

// Opened before log_tail, which is given it to print into.
std::FILE* memory_file(char*& buffer, std::size_t& size) {
    std::FILE* file = ::open_memstream(&buffer, &size);
    if (file == nullptr) throw_errno(errno, "open_memstream");
    return file;
}

}  // namespace

log_view::log_view(std::string name, const std::filesystem::path& file, std::size_t keep)
    : name_(std::move(name)), keep_(keep), printed_(memory_file(buffer_, size_)), tail_(file, "") {
    tail_.print_last(keep_, printed_);
    take_printed();
}

log_view::~log_view() {
    std::fclose(printed_);
    std::free(buffer_);
}

bool log_view::follow() {
    tail_.print_new(printed_);
    return take_printed();
}

bool log_view::take_printed() {
    std::fflush(printed_);
    std::string_view text(buffer_, size_);
    const bool any = !text.empty();
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        lines_.emplace_back(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
    while (lines_.size() > keep_) lines_.pop_front();
    std::rewind(printed_);  // the next lines are written over these, from the start
    return any;
}

}  // namespace brood::cli
