#pragma once

// Protocol constants and reply codes of AMQP 0-9-1 (spec "constants").

#include <cstdint>

namespace qmq::amqp {

// Frame types and framing.
constexpr uint8_t frame_method = 1;
constexpr uint8_t frame_header = 2;
constexpr uint8_t frame_body = 3;
constexpr uint8_t frame_heartbeat = 8;
constexpr uint8_t frame_end = 0xCE;
constexpr uint32_t frame_min_size = 4096;
// type(1) + channel(2) + size(4) before the payload, frame-end(1) after it.
constexpr uint32_t frame_header_size = 7;
constexpr uint32_t frame_overhead = frame_header_size + 1;

// The protocol header a 0-9-1 client sends first.
constexpr uint8_t protocol_header[8] = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

namespace reply {
constexpr uint16_t success = 200;
constexpr uint16_t content_too_large = 311;
constexpr uint16_t no_route = 312;
constexpr uint16_t no_consumers = 313;
constexpr uint16_t connection_forced = 320;
constexpr uint16_t invalid_path = 402;
constexpr uint16_t access_refused = 403;
constexpr uint16_t not_found = 404;
constexpr uint16_t resource_locked = 405;
constexpr uint16_t precondition_failed = 406;
constexpr uint16_t frame_error = 501;
constexpr uint16_t syntax_error = 502;
constexpr uint16_t command_invalid = 503;
constexpr uint16_t channel_error = 504;
constexpr uint16_t unexpected_frame = 505;
constexpr uint16_t resource_error = 506;
constexpr uint16_t not_allowed = 530;
constexpr uint16_t not_implemented = 540;
constexpr uint16_t internal_error = 541;
}  // namespace reply

// RabbitMQ's reply-text prefix: "NOT_FOUND - no queue 'q' in vhost '/'".
// Returns "" for a code it does not name.
const char* reply_name(uint16_t code);

// Hard errors close the connection; soft errors close only the channel.
constexpr bool is_hard_error(uint16_t code) {
    return code == reply::connection_forced || code == reply::invalid_path || code >= 500;
}

}  // namespace qmq::amqp
