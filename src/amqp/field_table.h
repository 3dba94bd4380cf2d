#pragma once

// AMQP 0-9-1 field tables and arrays with every field type RabbitMQ speaks.
// Type tags follow RabbitMQ's reading of the spec (the 0-9-1 errata), not the
// original grammar: 's' is a signed 16-bit integer, 'u' unsigned 16, 'I'
// signed 32, 'i' unsigned 32, 'l' signed 64, 'x' a byte array, 'V' void.
//
//   t bool   b int8   B uint8   s int16   u uint16   I int32   i uint32
//   l int64  f float  d double  D decimal S longstr  A array   T timestamp
//   F table  V void   x bytes
//
// A table keeps its entries in wire order (RabbitMQ does too, and clients may
// rely on it when they read headers back); equality is order-sensitive, so
// redeclare checks should compare through equivalent() which ignores order.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace qmq::amqp {

// Nesting bound for tables and arrays, so hostile input cannot exhaust the
// stack of the recursive decoder. RabbitMQ clients never come close.
constexpr int field_depth_max = 32;

struct decimal_value {
    uint8_t scale = 0;   // number of decimal digits after the point
    uint32_t value = 0;  // unscaled value
    bool operator==(const decimal_value&) const = default;
};

// Seconds since the Unix epoch ('T').
struct timestamp_value {
    uint64_t seconds = 0;
    bool operator==(const timestamp_value&) const = default;
};

// A 'x' byte array, distinct from a 'S' long string.
struct byte_array {
    std::string data;
    bool operator==(const byte_array&) const = default;
};

struct void_value {
    bool operator==(const void_value&) const = default;
};

struct field_value;
struct field_entry;
using field_array = std::vector<field_value>;

class field_table {
  public:
    field_table() = default;
    field_table(std::initializer_list<field_entry> entries);

    // The value under `key`, or nullptr. Tables are small; a linear scan wins.
    const field_value* find(std::string_view key) const;
    field_value* find(std::string_view key);
    bool contains(std::string_view key) const { return find(key) != nullptr; }

    // Replaces the value under `key`, or appends it.
    void set(std::string key, field_value value);
    // Removes `key`; returns whether it was there.
    bool erase(std::string_view key);

    // Typed lookups: nullopt when absent or of another type. get_int accepts
    // every integer type (b B s u I i l), as RabbitMQ does for x-arguments.
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<bool> get_bool(std::string_view key) const;
    const std::string* get_string(std::string_view key) const;  // 'S' (or 'x')
    const field_table* get_table(std::string_view key) const;
    const field_array* get_array(std::string_view key) const;

    // Defined below, once field_entry is complete.
    const std::vector<field_entry>& entries() const;
    std::vector<field_entry>& entries();
    std::size_t size() const;
    bool empty() const;

    // Same entries in the same order.
    bool operator==(const field_table& other) const;
    // Same set of keys with equal values, in any order (nested tables too).
    bool equivalent(const field_table& other) const;

  private:
    std::vector<field_entry> _entries;
};

struct field_value {
    using variant = std::variant<void_value, bool, int8_t, uint8_t, int16_t, uint16_t, int32_t,
                                 uint32_t, int64_t, float, double, decimal_value, std::string,
                                 field_array, timestamp_value, field_table, byte_array>;
    variant v;

    field_value() = default;
    template <typename T>
    requires std::is_constructible_v<variant, T&&> &&
        (!std::is_same_v<std::remove_cvref_t<T>, field_value>)field_value(T&& x)
        : v(std::forward<T>(x)) {}  // NOLINT(google-explicit-constructor)
    field_value(const char* s);     // NOLINT(google-explicit-constructor); a string

    // The wire type tag of this value ('t', 'b', ... 'x').
    char type_tag() const;

    template <typename T>
    bool is() const {
        return std::holds_alternative<T>(v);
    }
    template <typename T>
    const T* get_if() const {
        return std::get_if<T>(&v);
    }
    // Any integer type widened to int64 (uint64 does not exist on the wire).
    std::optional<int64_t> as_int() const;
    const std::string* as_string() const;  // 'S' or 'x'

    bool operator==(const field_value& other) const;
    // Like ==, but nested tables compare with field_table::equivalent.
    bool equivalent(const field_value& other) const;
};

struct field_entry {
    std::string key;
    field_value value;
    bool operator==(const field_entry&) const = default;
};

inline field_value::field_value(const char* s) : v(std::string(s)) {}
inline const std::vector<field_entry>& field_table::entries() const {
    return _entries;
}
inline std::vector<field_entry>& field_table::entries() {
    return _entries;
}
inline std::size_t field_table::size() const {
    return _entries.size();
}
inline bool field_table::empty() const {
    return _entries.empty();
}

// Wire encoding: a table is a 32-bit byte length then (shortstr key, type
// tag, value)*; an array is a 32-bit byte length then (type tag, value)*.
void encode_table(byte_writer& w, const field_table& table);
void encode_array(byte_writer& w, const field_array& array);
void encode_value(byte_writer& w, const field_value& value);  // tag + value
// Encoded size in bytes, including the 32-bit length prefix.
std::size_t encoded_size(const field_table& table);

// Decoding fails with code 502 (syntax error) for an unknown type tag or a
// nesting deeper than field_depth_max, and 501 (frame error) for a length
// that runs past the end of the input; the message says which.
result<field_table> decode_table(byte_reader& r);
result<field_array> decode_array(byte_reader& r);
// Decodes the entries of a table whose bytes are exactly `body` (no length
// prefix), as in AMQPLAIN's start-ok response.
result<field_table> decode_table_body(bytes_view body);

}  // namespace qmq::amqp
