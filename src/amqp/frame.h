#pragma once

// The frame codec: splits a byte stream into frames and writes frames into a
// reusable output buffer. A frame is type(1) channel(2) size(4) payload(size)
// frame-end(0xCE). Parsing never copies: a frame's payload is a view into the
// caller's buffer, valid until that buffer changes.

#include <cstdint>

#include "amqp/constants.h"
#include "amqp/content.h"
#include "amqp/methods.h"
#include "common/bytes.h"

namespace qmq::amqp {

struct frame_view {
    uint8_t type = 0;
    uint16_t channel = 0;
    bytes_view payload;
};

enum class parse_status { ok, need_more, error };

struct frame_parse {
    parse_status status = parse_status::need_more;
    frame_view frame;          // when ok
    std::size_t consumed = 0;  // bytes used by the frame, when ok
    uint16_t reply_code = 0;   // 501 when error
    std::string reply_text;    // what was wrong, when error
};

// Parses the first frame of `input`. Fails (501) on an unknown frame type, a
// payload larger than frame_max - 8 (checked from the header alone, before the
// payload arrives, so a peer cannot make us buffer more than frame_max), or a
// wrong frame-end byte. frame_max 0 means no limit beyond 2^32.
frame_parse parse_frame(bytes_view input, uint32_t frame_max);

// Content header payload: class-id, weight (0), body-size, properties.
struct content_header {
    uint16_t class_id = 0;
    uint64_t body_size = 0;
    basic_properties properties;
};
// Fails with 501 when truncated or followed by extra bytes, 502 for bad
// properties, 505 for a nonzero weight.
result<content_header> decode_content_header(bytes_view payload);
// The same straight into a content (class id and properties; the body is left
// alone), returning the announced body size. The receive path uses this.
result<uint64_t> decode_content_header_into(bytes_view payload, content& out);

// Writers append complete frames to w.
// Low-level: writes type and channel and a size placeholder, returning the
// offset to hand to end_frame, which patches the size and adds frame-end.
std::size_t begin_frame(byte_writer& w, uint8_t type, uint16_t channel);
void end_frame(byte_writer& w, std::size_t start);
void write_method_frame(byte_writer& w, uint16_t channel, const method& m);
template <typename M>
void write_method_frame(byte_writer& w, uint16_t channel, const M& m) {
    std::size_t start = begin_frame(w, frame_method, channel);
    encode(w, m);
    end_frame(w, start);
}
// Header frame, then the body cut into frames of at most frame_max - 8 bytes.
void write_content_frames(byte_writer& w, uint16_t channel, const content& c, uint32_t frame_max);
void write_heartbeat_frame(byte_writer& w);

}  // namespace qmq::amqp
