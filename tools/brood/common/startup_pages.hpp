// brood run and brood up sit idle most of their lives, in a loop that needs a few pages of code.
// Parsing arguments (CLI11) and starting up touched far more, and the kernel maps a file's pages
// around every fault (whole large folios), so the idle process would keep ~1.5 MiB of its own
// executable mapped. Dropping those mappings once the loop runs gives that back; a page needed
// again is mapped again from the page cache on first use (a fault each, so brood run waits until
// its program has run a moment, and a short-lived one ends first).
#pragma once

namespace brood::cli {

// madvise(MADV_DONTNEED) over the read-only segments of brood's own executable (code, constants),
// found from its program headers. Never over writable or RELRO segments: their private pages were
// written (relocations) and would revert to the file's contents.
void drop_startup_pages() noexcept;

}  // namespace brood::cli
