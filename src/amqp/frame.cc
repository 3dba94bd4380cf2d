#include "amqp/frame.h"

#include <algorithm>

namespace qmq::amqp {

frame_parse parse_frame(bytes_view input, uint32_t frame_max) {
    frame_parse p;
    if (input.size() < frame_header_size) {
        return p;  // need_more
    }
    byte_reader r(input);
    uint8_t type = r.u8();
    uint16_t channel = r.u16();
    uint32_t size = r.u32();
    if (type != frame_method && type != frame_header && type != frame_body &&
        type != frame_heartbeat) {
        p.status = parse_status::error;
        p.reply_code = reply::frame_error;
        p.reply_text = "unknown frame type " + std::to_string(type);
        return p;
    }
    if (frame_max != 0 && uint64_t{size} + frame_overhead > frame_max) {
        p.status = parse_status::error;
        p.reply_code = reply::frame_error;
        p.reply_text = "frame of " + std::to_string(uint64_t{size} + frame_overhead) +
                       " bytes exceeds the negotiated frame_max " + std::to_string(frame_max);
        return p;
    }
    if (input.size() - frame_header_size < uint64_t{size} + 1) {
        return p;  // need_more
    }
    if (std::to_integer<uint8_t>(input[frame_header_size + size]) != frame_end) {
        p.status = parse_status::error;
        p.reply_code = reply::frame_error;
        p.reply_text = "invalid frame end marker " +
                       std::to_string(std::to_integer<uint8_t>(input[frame_header_size + size])) +
                       " (expected 206)";
        return p;
    }
    p.status = parse_status::ok;
    p.frame = frame_view{type, channel, input.subspan(frame_header_size, size)};
    p.consumed = frame_overhead + size;
    return p;
}

result<uint64_t> decode_content_header_into(bytes_view payload, content& out) {
    byte_reader r(payload);
    out.class_id = r.u16();
    uint16_t weight = r.u16();
    uint64_t body_size = r.u64();
    if (!r.ok()) {
        return error{reply::frame_error, "content header frame truncated"};
    }
    if (weight != 0) {
        return error{reply::unexpected_frame, "content header weight must be 0"};
    }
    auto p = decode_properties_into(r, out.properties);
    if (!p.ok()) {
        return p.err();
    }
    if (!r.at_end()) {
        return error{reply::frame_error, "extra bytes after the content header properties"};
    }
    return body_size;
}

result<content_header> decode_content_header(bytes_view payload) {
    content c;
    auto size = decode_content_header_into(payload, c);
    if (!size.ok()) {
        return size.err();
    }
    return content_header{c.class_id, *size, std::move(c.properties)};
}

std::size_t begin_frame(byte_writer& w, uint8_t type, uint16_t channel) {
    std::size_t start = w.size();
    w.u8(type);
    w.u16(channel);
    w.u32(0);
    return start;
}

void end_frame(byte_writer& w, std::size_t start) {
    std::size_t size = w.size() - start - frame_header_size;
    QMQ_ASSERT(size <= UINT32_MAX);
    w.patch_u32(start + 3, static_cast<uint32_t>(size));
    w.u8(frame_end);
}

void write_method_frame(byte_writer& w, uint16_t channel, const method& m) {
    std::size_t start = begin_frame(w, frame_method, channel);
    encode(w, m);
    end_frame(w, start);
}

void write_content_frames(byte_writer& w, uint16_t channel, const content& c, uint32_t frame_max) {
    QMQ_ASSERT(frame_max == 0 || frame_max >= frame_min_size);
    std::size_t start = begin_frame(w, frame_header, channel);
    w.u16(c.class_id);
    w.u16(0);
    w.u64(c.body.size());
    encode_properties(w, c.properties);
    end_frame(w, start);

    const std::size_t chunk_max = frame_max == 0 ? (1u << 20) : frame_max - frame_overhead;
    w.buffer().reserve(w.size() + c.body.size() + frame_overhead * (c.body.size() / chunk_max + 1));
    for (std::size_t at = 0; at < c.body.size(); at += chunk_max) {
        std::size_t n = std::min(chunk_max, c.body.size() - at);
        std::size_t s = begin_frame(w, frame_body, channel);
        w.raw(bytes_view(c.body).subspan(at, n));
        end_frame(w, s);
    }
}

void write_heartbeat_frame(byte_writer& w) {
    std::size_t start = begin_frame(w, frame_heartbeat, 0);
    end_frame(w, start);
}

}  // namespace qmq::amqp
