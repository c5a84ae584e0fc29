#include "pool/shared_memory.hpp"

#include <cerrno>

#include <sys/mman.h>

#include <brood/error.hpp>

namespace brood::detail {

shared_memory::shared_memory(std::size_t bytes) : size_(bytes == 0 ? 1 : bytes) {
    data_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data_ == MAP_FAILED) throw_errno(errno, "mmap of " + std::to_string(size_) + " shared bytes");
}

shared_memory::~shared_memory() { ::munmap(data_, size_); }

}  // namespace brood::detail
