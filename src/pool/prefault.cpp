#include <brood/pool/parallel_map.hpp>

#include <cstdint>

#include <sys/mman.h>
#include <unistd.h>

namespace brood::detail {

// Both are hints: where the kernel refuses (huge pages off, MADV_POPULATE_WRITE before Linux 5.14)
// the memory is faulted in as it is written, as it would have been anyway.
void prefault(void* data, std::size_t bytes) noexcept {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(page - 1);
    if (end <= begin || end - begin < (std::uintptr_t{2} << 20)) return;  // small: not worth a system call
    auto* start = reinterpret_cast<void*>(begin);
    ::madvise(start, end - begin, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
    ::madvise(start, end - begin, MADV_POPULATE_WRITE);
#endif
}

}  // namespace brood::detail
