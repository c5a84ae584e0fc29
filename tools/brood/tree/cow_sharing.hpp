// How much of a process's memory is still shared copy-on-write with its parent.
//
// After fork, parent and child map the same anonymous pages until one of them writes a page and
// gets its own copy. /proc/PID/pagemap tells, per page, whether it is present, anonymous and
// mapped by more than one process, and (to root: CAP_SYS_ADMIN) its physical frame. The frames
// of a child's shared anonymous pages that the parent maps too are exactly the memory they share.
//
// Without the frames (not root), the figure is the child's shared anonymous pages, whoever the
// other side is (parent, sibling or child): an upper bound, marked as not exact. Mappings larger
// than 1 GiB (sanitizer shadows, reserved heaps) are not read: the pagemap of one can be gigabytes.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include <sys/types.h>

namespace brood::cli {

struct cow_share {
    std::uint64_t bytes = 0;
    bool exact = true;  // false: shared with some relative, not necessarily the parent
};

class cow_sharing {
public:
    // nullopt when either process's memory cannot be read (gone, zombie, kernel thread).
    std::optional<cow_share> with_parent(pid_t pid, pid_t parent);

private:
    struct shared_pages {
        std::vector<std::uint64_t> frames;  // sorted, distinct; empty without privilege
        std::uint64_t pages = 0;            // shared anonymous pages present
        bool have_frames = false;
    };
    const shared_pages* pages_of(pid_t pid);

    std::unordered_map<pid_t, std::optional<shared_pages>> cache_;  // parents are asked for often
};

}  // namespace brood::cli
