// shared_memory: anonymous MAP_SHARED memory, shared with the processes forked while it exists.
#pragma once

#include <cstddef>

namespace brood::detail {

class shared_memory {
public:
    explicit shared_memory(std::size_t bytes);  // zero-filled
    shared_memory(const shared_memory&) = delete;
    shared_memory& operator=(const shared_memory&) = delete;
    ~shared_memory();
    void* data() const noexcept { return data_; }

private:
    void* data_;
    std::size_t size_;
};

}  // namespace brood::detail
