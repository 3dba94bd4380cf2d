#pragma once

// Short and long strings on the wire: a shortstr is an octet length then up
// to 255 bytes; a longstr is a 32-bit length then the bytes.

#include <algorithm>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace qmq::amqp {

constexpr std::size_t shortstr_size_max = 255;

// Truncates to 255 bytes rather than failing: see methods.h.
inline void write_shortstr(byte_writer& w, std::string_view s) {
    std::size_t n = std::min(s.size(), shortstr_size_max);
    w.u8(static_cast<uint8_t>(n));
    w.raw(s.substr(0, n));
}

inline void write_longstr(byte_writer& w, std::string_view s) {
    w.u32(static_cast<uint32_t>(s.size()));
    w.raw(s);
}

// On a short read these return "" and leave r failed (checked once later).
inline std::string read_shortstr(byte_reader& r) {
    uint8_t n = r.u8();
    return r.take_string(n);
}

inline std::string read_longstr(byte_reader& r) {
    uint32_t n = r.u32();
    return r.take_string(n);
}

}  // namespace qmq::amqp
