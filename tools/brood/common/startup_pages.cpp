#include "common/startup_pages.hpp"

#include <cstdint>
#include <iterator>
#include <span>

#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

namespace brood::cli {

namespace {

int drop_read_only_segments(dl_phdr_info* info, std::size_t, void*) noexcept {
    const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    std::uintptr_t relro_start = 0, relro_end = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& p = info->dlpi_phdr[i];
        if (p.p_type != PT_GNU_RELRO) continue;
        relro_start = (info->dlpi_addr + p.p_vaddr) & ~(page - 1);
        relro_end = (info->dlpi_addr + p.p_vaddr + p.p_memsz + page - 1) & ~(page - 1);
    }
    // The ranges are all found before any is dropped: the program headers lie in the first
    // read-only segment, and reading them after it was dropped would map its first pages back.
    struct range {
        std::uintptr_t start, end;
    } ranges[8];
    std::size_t count = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum && count < std::size(ranges); ++i) {
        const ElfW(Phdr)& p = info->dlpi_phdr[i];
        if (p.p_type != PT_LOAD || (p.p_flags & PF_W) != 0) continue;
        // Whole pages inside the segment only: a page it shares with a neighbour stays.
        const std::uintptr_t start = (info->dlpi_addr + p.p_vaddr + page - 1) & ~(page - 1);
        const std::uintptr_t end = (info->dlpi_addr + p.p_vaddr + p.p_filesz) & ~(page - 1);
        if (end <= start || (start < relro_end && relro_start < end)) continue;
        ranges[count++] = {start, end};
    }
    for (const range& r : std::span(ranges, count))
        ::madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED);
    return 1;  // the first object is the executable itself: stop there
}

}  // namespace

// Never inlined: scripts/startup-order tells start-up code from the idle loop's by this function's
// entry (callgrind --dump-before), which a unity build would otherwise fold into its callers.
__attribute__((noinline)) void drop_startup_pages() noexcept { ::dl_iterate_phdr(drop_read_only_segments, nullptr); }

}  // namespace brood::cli
