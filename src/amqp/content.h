#pragma once

// Message content: the basic-class properties of a content header frame and
// the body assembled from its body frames.

#include <cstdint>
#include <optional>
#include <string>

#include "amqp/field_table.h"
#include "common/bytes.h"
#include "common/result.h"

namespace qmq::amqp {

// Property flag bits, high bit first, in the order of the spec's basic class.
namespace property_flag {
constexpr uint16_t content_type = 1u << 15;
constexpr uint16_t content_encoding = 1u << 14;
constexpr uint16_t headers = 1u << 13;
constexpr uint16_t delivery_mode = 1u << 12;
constexpr uint16_t priority = 1u << 11;
constexpr uint16_t correlation_id = 1u << 10;
constexpr uint16_t reply_to = 1u << 9;
constexpr uint16_t expiration = 1u << 8;
constexpr uint16_t message_id = 1u << 7;
constexpr uint16_t timestamp = 1u << 6;
constexpr uint16_t type = 1u << 5;
constexpr uint16_t user_id = 1u << 4;
constexpr uint16_t app_id = 1u << 3;
constexpr uint16_t cluster_id = 1u << 2;
// Bit 0 says another flag word follows; basic never needs one.
constexpr uint16_t continuation = 1u;
}  // namespace property_flag

constexpr uint16_t basic_class_id = 60;

// All 14 basic properties; an absent optional is a cleared flag bit.
struct basic_properties {
    std::optional<std::string> content_type;
    std::optional<std::string> content_encoding;
    std::optional<field_table> headers;
    std::optional<uint8_t> delivery_mode;  // 1 transient, 2 persistent
    std::optional<uint8_t> priority;
    std::optional<std::string> correlation_id;
    std::optional<std::string> reply_to;
    std::optional<std::string> expiration;  // per-message TTL in ms, as text
    std::optional<std::string> message_id;
    std::optional<uint64_t> timestamp;  // seconds since the epoch
    std::optional<std::string> type;
    std::optional<std::string> user_id;
    std::optional<std::string> app_id;
    std::optional<std::string> cluster_id;

    uint16_t flags() const;
    bool persistent() const { return delivery_mode && *delivery_mode == 2; }
    bool operator==(const basic_properties&) const = default;
};

// Property list only (flags word + present fields), as in a header frame
// after class-id, weight and body-size.
void encode_properties(byte_writer& w, const basic_properties& p);
std::size_t encoded_size(const basic_properties& p);
// Reads the flags word(s) and the fields they announce. Fails with 501 when
// truncated, 502 for a bad table inside headers or a set continuation word.
result<basic_properties> decode_properties(byte_reader& r);
// The same, into `out` (which must be empty), sparing the moves of a result.
result<void> decode_properties_into(byte_reader& r, basic_properties& out);

// One message as it crosses the wire: header-frame fields plus the body.
// The body is copied once out of the receive buffer, straight into its final
// place (reserved to the announced size), and is moved from there on.
struct content {
    uint16_t class_id = basic_class_id;
    basic_properties properties;
    bytes body;

    bool operator==(const content&) const = default;
};

}  // namespace qmq::amqp
