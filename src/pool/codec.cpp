#include <brood/pool/codec.hpp>

#include <algorithm>
#include <limits>
#include <string>

namespace brood {

void byte_buffer::grow(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / 2 - size_) throw std::length_error("brood::byte_buffer: too large");
    const std::size_t capacity = std::max({size_ + n, capacity_ * 2, std::size_t{256}});
    auto data = std::make_unique_for_overwrite<std::byte[]>(capacity);
    if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
}

void byte_reader::underflow(std::size_t wanted) const {
    throw codec_error("brood::codec: truncated data: wanted " + std::to_string(wanted) + " bytes, " +
                      std::to_string(remaining()) + " left");
}

namespace detail {

std::uint64_t checked_count(std::uint64_t count, std::size_t element_size, std::size_t remaining) {
    if (count > remaining / element_size)
        throw codec_error("brood::codec: a count of " + std::to_string(count) + " does not fit in the " +
                          std::to_string(remaining) + " bytes left");
    return count;
}

}  // namespace detail
}  // namespace brood
