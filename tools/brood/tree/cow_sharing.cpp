#include "tree/cow_sharing.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <brood/unique_fd.hpp>

namespace brood::cli {

namespace {

// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
constexpr std::uint64_t page_present = 1ULL << 63;
constexpr std::uint64_t page_file_or_shared_anon = 1ULL << 61;
constexpr std::uint64_t page_exclusive = 1ULL << 56;
constexpr std::uint64_t frame_mask = (1ULL << 55) - 1;
constexpr std::uint64_t largest_mapping_read = 1ULL << 30;

struct range {
    std::uint64_t start, end;
};

// The private mappings of a process, from /proc/PID/maps; nullopt when it cannot be read.
std::optional<std::vector<range>> private_mappings(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/maps";
    std::FILE* maps = std::fopen(path.c_str(), "re");
    if (maps == nullptr) return std::nullopt;
    std::vector<range> ranges;
    char line[4096];
    while (std::fgets(line, sizeof line, maps) != nullptr) {
        range r{};
        char perms[5] = {};
        if (std::sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &r.start, &r.end, perms) != 3) continue;
        if (perms[3] != 'p' || r.end - r.start > largest_mapping_read) continue;
        ranges.push_back(r);
    }
    std::fclose(maps);
    return ranges;
}

}  // namespace

const cow_sharing::shared_pages* cow_sharing::pages_of(pid_t pid) {
    if (auto cached = cache_.find(pid); cached != cache_.end()) return cached->second ? &*cached->second : nullptr;
    std::optional<shared_pages>& slot = cache_[pid];
    const std::optional<std::vector<range>> ranges = private_mappings(pid);
    const unique_fd pagemap(::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ranges || ranges->empty() || !pagemap) return nullptr;  // gone, zombie or kernel thread

    const std::uint64_t page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    shared_pages result;
    std::vector<std::uint64_t> entries(4096);
    for (const range& r : *ranges) {
        for (std::uint64_t page = r.start / page_size; page < r.end / page_size;) {
            const std::uint64_t count = std::min<std::uint64_t>(entries.size(), r.end / page_size - page);
            const ssize_t n = ::pread(pagemap.get(), entries.data(), count * sizeof(std::uint64_t),
                                      static_cast<off_t>(page * sizeof(std::uint64_t)));
            if (n <= 0) break;
            const std::size_t got = static_cast<std::size_t>(n) / sizeof(std::uint64_t);
            for (std::size_t i = 0; i < got; ++i) {
                const std::uint64_t e = entries[i];
                if (!(e & page_present) || (e & page_file_or_shared_anon) || (e & page_exclusive)) continue;
                ++result.pages;
                if (const std::uint64_t frame = e & frame_mask; frame != 0) result.frames.push_back(frame);
            }
            page += got;
        }
    }
    result.have_frames = !result.frames.empty() || result.pages == 0;
    std::sort(result.frames.begin(), result.frames.end());
    // One frame mapped many times (the zero page) is shared memory only once.
    result.frames.erase(std::unique(result.frames.begin(), result.frames.end()), result.frames.end());
    slot = std::move(result);
    return &*slot;
}

std::optional<cow_share> cow_sharing::with_parent(pid_t pid, pid_t parent) {
    const shared_pages* child = pages_of(pid);
    if (child == nullptr) return std::nullopt;
    const std::uint64_t page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const shared_pages* mother = parent > 0 ? pages_of(parent) : nullptr;
    if (mother == nullptr) return cow_share{0, true};  // no readable parent: nothing shared with it
    if (!child->have_frames || !mother->have_frames) return cow_share{child->pages * page_size, false};
    std::uint64_t common = 0;
    auto a = child->frames.begin();
    auto b = mother->frames.begin();
    while (a != child->frames.end() && b != mother->frames.end()) {
        if (*a < *b) {
            ++a;
        } else if (*b < *a) {
            ++b;
        } else {
            ++common, ++a, ++b;
        }
    }
    return cow_share{common * page_size, true};
}

}  // namespace brood::cli
