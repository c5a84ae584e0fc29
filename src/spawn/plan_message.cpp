#include "spawn/plan_message.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fcntl.h>

namespace brood::detail {
namespace {

namespace flag {
constexpr std::uint32_t new_session = 1, set_pgid = 2, set_groups = 4, groups_best_effort = 8, set_gid = 16,
                        set_uid = 32, set_umask = 64, has_cwd = 128;
}

struct message_header {
    std::uint32_t flags;
    std::int32_t pgid, death_signal, parent_pid, gid, uid, umask, max_target;
    std::int32_t terminal_index, cgroup_index;  // among the fds sent; -1: none
    std::uint32_t argc, envc, candidate_count, limit_count, group_count, move_count, keep_count, text_size;
};

// Every section starts 8-aligned, so the spawner's arrays can point into the message (whose buffer
// is page-aligned) without copying: child_limit holds 64-bit fields.
constexpr std::size_t aligned(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }

template <class T>
void append(std::string& bytes, const T* items, std::size_t count) {
    const std::size_t size = sizeof(T) * count;
    if (size != 0) bytes.append(reinterpret_cast<const char*>(items), size);
    bytes.resize(aligned(bytes.size()));
}

// Index of fd among those sent, adding it the first time.
std::int32_t index_of(std::vector<int>& fds, int fd) {
    const auto found = std::find(fds.begin(), fds.end(), fd);
    if (found != fds.end()) return static_cast<std::int32_t>(found - fds.begin());
    fds.push_back(fd);
    return static_cast<std::int32_t>(fds.size() - 1);
}

std::uint32_t count_of(const char* const* list) noexcept {
    std::uint32_t n = 0;
    while (list[n] != nullptr) ++n;
    return n;
}

bool has_move_onto(const child_plan& plan, int target) noexcept {
    for (std::size_t i = 0; i < plan.move_count; ++i)
        if (plan.moves[i].target == target) return true;
    return false;
}

}  // namespace

bool write_plan_message(const child_plan& plan, int cgroup_fd, plan_message& message) {
    if (!plan.close_other_fds) return false;
    message.fds.clear();
    std::vector<fd_move>& moves = message.moves;
    moves.assign(plan.moves, plan.moves + plan.move_count);
    for (fd_move& m : moves)
        if (m.source != fd_move::open_null) m.source = index_of(message.fds, m.source);
    for (std::size_t i = 0; i < plan.keep_count; ++i) {
        const int kept = plan.keep[i];
        if (has_move_onto(plan, kept)) continue;
        // One the exec would close (close-on-exec) is as good as closed.
        const int flags = ::fcntl(kept, F_GETFD);
        const bool inherited = flags >= 0 && (flags & FD_CLOEXEC) == 0;
        moves.push_back({inherited ? index_of(message.fds, kept) : fd_move::no_source, kept});
    }

    message_header h{};
    h.flags = (plan.new_session ? flag::new_session : 0) | (plan.set_pgid ? flag::set_pgid : 0) |
              (plan.set_groups ? flag::set_groups : 0) | (plan.groups_best_effort ? flag::groups_best_effort : 0) |
              (plan.set_gid ? flag::set_gid : 0) | (plan.set_uid ? flag::set_uid : 0) |
              (plan.set_umask ? flag::set_umask : 0) | (plan.cwd != nullptr ? flag::has_cwd : 0);
    h.pgid = plan.pgid;
    h.death_signal = plan.death_signal;
    h.parent_pid = plan.parent_pid;
    h.gid = static_cast<std::int32_t>(plan.gid);
    h.uid = static_cast<std::int32_t>(plan.uid);
    h.umask = static_cast<std::int32_t>(plan.umask);
    h.max_target = plan.max_target;
    h.terminal_index = plan.terminal_fd >= 0 ? index_of(message.fds, plan.terminal_fd) : -1;
    h.cgroup_index = cgroup_fd >= 0 ? index_of(message.fds, cgroup_fd) : -1;
    h.argc = count_of(plan.argv);
    h.envc = count_of(plan.envp);
    h.candidate_count = static_cast<std::uint32_t>(plan.candidate_count);
    h.limit_count = static_cast<std::uint32_t>(plan.limit_count);
    h.group_count = static_cast<std::uint32_t>(plan.group_count);
    h.move_count = static_cast<std::uint32_t>(moves.size());
    h.keep_count = static_cast<std::uint32_t>(plan.keep_count);
    if (message.fds.size() > plan_message_max_fds || moves.size() > plan_message_max_fds + 3 ||
        std::size_t{h.argc} + h.envc + h.candidate_count + 3 > plan_message_max_strings)
        return false;

    std::string& bytes = message.bytes;
    bytes.clear();
    append(bytes, &h, 1);
    append(bytes, plan.limits, plan.limit_count);
    append(bytes, plan.groups, plan.group_count);
    append(bytes, moves.data(), moves.size());
    append(bytes, plan.keep, plan.keep_count);
    // The strings go last, straight into the message; their size into the header once known.
    const std::size_t text_start = bytes.size();
    const auto put = [&](const char* const* list, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) bytes.append(list[i]).push_back('\0');
    };
    put(plan.argv, h.argc);
    put(plan.envp, h.envc);
    put(plan.candidates, h.candidate_count);
    if (plan.cwd != nullptr) bytes.append(plan.cwd).push_back('\0');
    const auto text_size = static_cast<std::uint32_t>(bytes.size() - text_start);
    std::memcpy(bytes.data() + offsetof(message_header, text_size), &text_size, sizeof text_size);
    return bytes.size() <= plan_message_max;
}

namespace {

// Reads the message front to back; every step checks that what it takes is there.
class message_reader {
public:
    message_reader(const char* data, std::size_t size) noexcept : data_(data), size_(size) {}

    template <class T>
    const T* take(std::size_t count) noexcept {
        if (count > (size_ - at_) / sizeof(T)) return nullptr;
        const T* items = reinterpret_cast<const T*>(data_ + at_);
        at_ = std::min(size_, aligned(at_ + sizeof(T) * count));
        return items;
    }
    const char* rest(std::size_t& size) const noexcept {
        size = size_ - at_;
        return data_ + at_;
    }

private:
    const char* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

// Points n entries of list at the next n strings of text; null-terminates the list.
bool point_at_strings(const char*& text, const char* end, const char** list, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const void* nul = std::memchr(text, '\0', static_cast<std::size_t>(end - text));
        if (nul == nullptr) return false;
        list[i] = text;
        text = static_cast<const char*>(nul) + 1;
    }
    list[n] = nullptr;
    return true;
}

}  // namespace

int read_plan_message(const char* message, std::size_t size, const int* fds, std::size_t fd_count,
                      plan_storage& storage, child_plan& plan, int& cgroup_fd) noexcept {
    message_reader in(message, size);
    const message_header* h = in.take<message_header>(1);
    if (h == nullptr) return EINVAL;
    const auto fd_at = [&](std::int32_t index, int& fd) {
        if (index < -1 || index >= static_cast<std::int32_t>(fd_count)) return false;
        fd = index < 0 ? -1 : fds[index];
        return true;
    };
    const child_limit* limits = in.take<child_limit>(h->limit_count);
    const gid_t* groups = in.take<gid_t>(h->group_count);
    const fd_move* moves = in.take<fd_move>(h->move_count);
    const int* keep = in.take<int>(h->keep_count);
    if (limits == nullptr || groups == nullptr || moves == nullptr || keep == nullptr ||
        h->move_count > plan_message_max_fds + 3 ||
        std::size_t{h->argc} + h->envc + h->candidate_count + 3 > plan_message_max_strings)
        return EINVAL;
    if (h->max_target < 2 || h->max_target >= (1 << 20)) return EINVAL;
    for (std::uint32_t i = 0; i < h->keep_count; ++i)  // ascending and distinct, as the child assumes
        if (keep[i] < 0 || keep[i] > h->max_target || (i > 0 && keep[i] <= keep[i - 1])) return EINVAL;
    if (!fd_at(h->terminal_index, plan.terminal_fd) || !fd_at(h->cgroup_index, cgroup_fd)) return EINVAL;
    for (std::uint32_t i = 0; i < h->move_count; ++i) {
        storage.moves[i].target = moves[i].target;
        if (moves[i].target < 0 || moves[i].target > h->max_target) return EINVAL;
        if (moves[i].source == fd_move::no_source || moves[i].source == fd_move::open_null)
            storage.moves[i].source = moves[i].source;
        else if (!fd_at(moves[i].source, storage.moves[i].source) || moves[i].source < 0)
            return EINVAL;
    }

    std::size_t text_size = 0;
    const char* text = in.rest(text_size);
    if (text_size != h->text_size) return EINVAL;
    const char* const end = text + text_size;
    const char** argv = storage.strings;
    const char** envp = argv + h->argc + 1;
    const char** candidates = envp + h->envc + 1;
    if (!point_at_strings(text, end, argv, h->argc) || !point_at_strings(text, end, envp, h->envc) ||
        !point_at_strings(text, end, candidates, h->candidate_count))
        return EINVAL;
    const char* cwd = nullptr;
    if ((h->flags & flag::has_cwd) != 0) {
        const char* cwd_list[2];
        if (!point_at_strings(text, end, cwd_list, 1)) return EINVAL;
        cwd = cwd_list[0];
    }

    plan.argv = argv;
    plan.envp = envp;
    plan.candidates = candidates;
    plan.candidate_count = h->candidate_count;
    plan.new_session = (h->flags & flag::new_session) != 0;
    plan.set_pgid = (h->flags & flag::set_pgid) != 0;
    plan.pgid = h->pgid;
    plan.death_signal = h->death_signal;
    plan.parent_pid = h->parent_pid;
    plan.limits = limits;
    plan.limit_count = h->limit_count;
    plan.set_groups = (h->flags & flag::set_groups) != 0;
    plan.groups_best_effort = (h->flags & flag::groups_best_effort) != 0;
    plan.groups = groups;
    plan.group_count = h->group_count;
    plan.set_gid = (h->flags & flag::set_gid) != 0;
    plan.gid = static_cast<gid_t>(h->gid);
    plan.set_uid = (h->flags & flag::set_uid) != 0;
    plan.uid = static_cast<uid_t>(h->uid);
    plan.cwd = cwd;
    plan.set_umask = (h->flags & flag::set_umask) != 0;
    plan.umask = static_cast<mode_t>(h->umask);
    plan.moves = storage.moves;
    plan.move_count = h->move_count;
    plan.max_target = h->max_target;
    plan.close_other_fds = true;
    plan.keep = keep;
    plan.keep_count = h->keep_count;
    return 0;
}

}  // namespace brood::detail
