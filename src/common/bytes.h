#pragma once

// Byte buffers with explicit big-endian (network order) encoding, shared by
// the codecs and the on-disk formats. The reader never reads past its end: a
// short read sets a sticky failure flag and returns zeros, so decoders check
// ok() once at the end instead of after every field.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qmq {

using bytes = std::vector<std::byte>;
using bytes_view = std::span<const std::byte>;

inline bytes_view as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(bytes_view b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class byte_writer {
  public:
    byte_writer() = default;
    explicit byte_writer(bytes& out) : _out(&out) {}

    void u8(uint8_t v) { put(&v, 1); }
    void u16(uint16_t v) { put_be(v); }
    void u32(uint32_t v) { put_be(v); }
    void u64(uint64_t v) { put_be(v); }
    void raw(const void* p, std::size_t n) { put(p, n); }
    void raw(bytes_view b) { put(b.data(), b.size()); }
    void raw(std::string_view s) { put(s.data(), s.size()); }

    // Overwrites 4 bytes at `offset` (for length fields written after the body).
    void patch_u32(std::size_t offset, uint32_t v) {
        for (int i = 3; i >= 0; --i) {
            (*_out)[offset + static_cast<std::size_t>(i)] = static_cast<std::byte>(v & 0xFF);
            v >>= 8;
        }
    }

    std::size_t size() const { return _out->size(); }
    bytes& buffer() { return *_out; }

  private:
    void put(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        _out->insert(_out->end(), b, b + n);
    }
    template <typename T>
    void put_be(T v) {
        std::byte tmp[sizeof(T)];
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            tmp[sizeof(T) - 1 - i] = static_cast<std::byte>(v & 0xFF);
            v = static_cast<T>(v >> 8);
        }
        put(tmp, sizeof(T));
    }

    bytes _own;
    bytes* _out = &_own;
};

class byte_reader {
  public:
    explicit byte_reader(bytes_view data) : _data(data) {}

    uint8_t u8() { return get_be<uint8_t>(); }
    uint16_t u16() { return get_be<uint16_t>(); }
    uint32_t u32() { return get_be<uint32_t>(); }
    uint64_t u64() { return get_be<uint64_t>(); }

    // Returns a view of the next n bytes (empty and failed if fewer remain).
    bytes_view take(std::size_t n) {
        if (n > remaining()) {
            _failed = true;
            _pos = _data.size();
            return {};
        }
        auto v = _data.subspan(_pos, n);
        _pos += n;
        return v;
    }
    std::string take_string(std::size_t n) {
        auto v = take(n);
        return std::string(as_string_view(v));
    }

    std::size_t remaining() const { return _data.size() - _pos; }
    std::size_t position() const { return _pos; }
    bool ok() const { return !_failed; }
    bool at_end() const { return _pos == _data.size(); }
    void fail() { _failed = true; }

  private:
    template <typename T>
    T get_be() {
        if (sizeof(T) > remaining()) {
            _failed = true;
            _pos = _data.size();
            return 0;
        }
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            v = static_cast<T>((v << 8) | std::to_integer<uint8_t>(_data[_pos + i]));
        }
        _pos += sizeof(T);
        return v;
    }

    bytes_view _data;
    std::size_t _pos = 0;
    bool _failed = false;
};

}  // namespace qmq
