// codec: the small serialization brood::pool uses to send tasks and results between processes.
//
// Built in: trivially copyable types (their bytes), std::string, and std::vector<T> of a trivially
// copyable T (byte buffers: std::vector<std::byte>, std::vector<char>...). Anything else needs a
// codec of the user's:
//
//   template <> struct brood::codec<order> {
//       static void encode(const order& o, brood::byte_writer& out) { out.encode(o.id); out.encode(o.customer); }
//       static order decode(brood::byte_reader& in) {
//           order o;
//           o.id = in.decode<std::uint64_t>();
//           o.customer = in.decode<std::string>();
//           return o;
//       }
//   };
//
// Wire format (docs/pool.md): a trivially copyable value is its sizeof(T) bytes; a string or vector
// is a 64-bit count followed by the elements' bytes. Native byte order, no version, no alignment:
// both ends are the same program on the same machine (the worker is a fork of the parent).
//
// Types holding addresses are refused even when trivially copyable (pointers, string_view, span):
// the address would arrive, not the data it points to.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace brood {

// A growable byte buffer that does not zero what it allocates.
class byte_buffer {
public:
    byte_buffer() = default;
    byte_buffer(byte_buffer&&) noexcept = default;
    byte_buffer& operator=(byte_buffer&&) noexcept = default;

    std::byte* data() noexcept { return data_.get(); }
    const std::byte* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    void clear() noexcept { size_ = 0; }
    // Drops everything from position n on.
    void truncate(std::size_t n) noexcept { size_ = n < size_ ? n : size_; }
    // Makes room for n more bytes and returns where they go; commit(n) makes them part of the buffer.
    std::byte* reserve_tail(std::size_t n) {
        if (capacity_ - size_ < n) grow(n);
        return data_.get() + size_;
    }
    void commit(std::size_t n) noexcept { size_ += n; }
    void append(const void* bytes, std::size_t n) {
        if (n == 0) return;
        std::memcpy(reserve_tail(n), bytes, n);
        size_ += n;
    }

private:
    void grow(std::size_t n);
    std::unique_ptr<std::byte[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

template <class T>
struct codec;

class byte_writer {
public:
    explicit byte_writer(byte_buffer& out) noexcept : out_(&out) {}
    void write(const void* bytes, std::size_t n) { out_->append(bytes, n); }
    template <class T>
        requires std::is_trivially_copyable_v<T>
    void put(const T& value) {
        std::memcpy(out_->reserve_tail(sizeof(T)), &value, sizeof(T));
        out_->commit(sizeof(T));
    }
    template <class T>
    void encode(const T& value) {
        codec<T>::encode(value, *this);
    }

private:
    byte_buffer* out_;
};

// Reading past the end throws codec_error: a decoder can trust what it gets or fail cleanly.
class codec_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class byte_reader {
public:
    byte_reader(const std::byte* data, std::size_t size) noexcept : next_(data), end_(data + size) {}
    explicit byte_reader(std::span<const std::byte> bytes) noexcept : byte_reader(bytes.data(), bytes.size()) {}

    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - next_); }
    // The next n bytes, in place (valid as long as the bytes given to the reader).
    std::span<const std::byte> read_bytes(std::size_t n) {
        if (remaining() < n) underflow(n);
        std::span<const std::byte> bytes(next_, n);
        next_ += n;
        return bytes;
    }
    void read(void* out, std::size_t n) {
        const auto bytes = read_bytes(n);
        if (n != 0) std::memcpy(out, bytes.data(), n);  // out may be null for n == 0 (an empty vector)
    }
    template <class T>
        requires std::is_trivially_copyable_v<T> && std::default_initializable<T>
    T get() {
        T value;
        read(&value, sizeof(T));
        return value;
    }
    template <class T>
    T decode() {
        return codec<T>::decode(*this);
    }

private:
    [[noreturn]] void underflow(std::size_t wanted) const;
    const std::byte* next_;
    const std::byte* end_;
};

namespace detail {
template <class T>
inline constexpr bool holds_address = std::is_pointer_v<T> || std::is_member_pointer_v<T>;
template <class C, class Traits>
inline constexpr bool holds_address<std::basic_string_view<C, Traits>> = true;
template <class T, std::size_t N>
inline constexpr bool holds_address<std::span<T, N>> = true;

template <class T>
concept plain_bytes = std::is_trivially_copyable_v<T> && std::default_initializable<T> && !holds_address<T>;

std::uint64_t checked_count(std::uint64_t count, std::size_t element_size, std::size_t remaining);
}  // namespace detail

template <class T>
    requires detail::plain_bytes<T>
struct codec<T> {
    static void encode(const T& value, byte_writer& out) { out.put(value); }
    static T decode(byte_reader& in) { return in.get<T>(); }
};

template <>
struct codec<std::string> {
    static void encode(const std::string& value, byte_writer& out) {
        out.put(static_cast<std::uint64_t>(value.size()));
        out.write(value.data(), value.size());
    }
    static std::string decode(byte_reader& in) {
        const auto n = detail::checked_count(in.get<std::uint64_t>(), 1, in.remaining());
        auto bytes = in.read_bytes(n);
        return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
};

template <class T>
    requires detail::plain_bytes<T>
struct codec<std::vector<T>> {
    static void encode(const std::vector<T>& value, byte_writer& out) {
        out.put(static_cast<std::uint64_t>(value.size()));
        out.write(value.data(), value.size() * sizeof(T));
    }
    static std::vector<T> decode(byte_reader& in) {
        const auto n = detail::checked_count(in.get<std::uint64_t>(), sizeof(T), in.remaining());
        std::vector<T> value(n);
        in.read(value.data(), n * sizeof(T));
        return value;
    }
};

// A type the pool can send: codec<T> has encode and decode.
template <class T>
concept encodable = requires(const T& value, byte_writer& out, byte_reader& in) {
    codec<T>::encode(value, out);
    { codec<T>::decode(in) } -> std::convertible_to<T>;
};

}  // namespace brood
