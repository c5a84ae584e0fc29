#include "pool/channel.hpp"

#include <bit>
#include <cerrno>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "pool/bell.hpp"

namespace brood::detail {
namespace {

std::size_t round_up(std::size_t n, std::size_t unit) { return (n + unit - 1) / unit * unit; }

void map_at(std::byte* where, std::size_t length, int fd, std::size_t offset) {
    void* p = ::mmap(where, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED) throw_errno(errno, "mmap of a pool channel");
}

}  // namespace

// Layout of the memfd: [control][task ring][result ring]. Address space: [control][task ring x2]
// [result ring x2], each ring mapped twice in a row (see byte_ring.hpp).
channel::channel(std::size_t ring_bytes) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    capacity_ = std::bit_ceil(std::max(ring_bytes, page));
    const std::size_t control_bytes = round_up(sizeof(channel_control), page);

    const unique_fd memory(::memfd_create("brood-pool-channel", MFD_CLOEXEC));
    if (!memory) throw_errno(errno, "memfd_create for a pool channel");
    if (::ftruncate(memory.get(), static_cast<off_t>(control_bytes + 2 * capacity_)) == -1)
        throw_errno(errno, "ftruncate of a pool channel");

    mapped_ = control_bytes + 4 * capacity_;
    void* reserved = ::mmap(nullptr, mapped_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) throw_errno(errno, "mmap to reserve a pool channel");
    base_ = static_cast<std::byte*>(reserved);
    try {
        map_at(base_, control_bytes, memory.get(), 0);
        tasks_ = base_ + control_bytes;
        results_ = tasks_ + 2 * capacity_;
        for (std::byte* view : {tasks_, tasks_ + capacity_}) map_at(view, capacity_, memory.get(), control_bytes);
        for (std::byte* view : {results_, results_ + capacity_})
            map_at(view, capacity_, memory.get(), control_bytes + capacity_);
        worker_bell_ = make_bell();
    } catch (...) {
        ::munmap(base_, mapped_);
        throw;
    }
    control_ = new (base_) channel_control;
}

channel::~channel() {
    control_->~channel_control();
    ::munmap(base_, mapped_);
}

}  // namespace brood::detail
