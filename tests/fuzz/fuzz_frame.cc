// Fuzzes the frame decoder and everything a frame's payload goes through:
// parse_frame over arbitrary bytes, then decode_method or
// decode_content_header on each payload. Whatever decodes must encode back
// and decode again to the same value (the codec is a bijection on what it
// accepts).

#include <cstddef>
#include <cstdint>

#include "amqp/frame.h"
#include "common/assert.h"

using namespace qmq;
using namespace qmq::amqp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bytes_view input(reinterpret_cast<const std::byte*>(data), size);
    // The first byte picks a frame_max so size checks are exercised too.
    uint32_t frame_max = 0;
    if (!input.empty()) {
        frame_max = std::to_integer<uint8_t>(input[0]) < 128 ? 4096 : 131072;
        input = input.subspan(1);
    }
    for (int frames = 0; frames < 64 && !input.empty(); ++frames) {
        auto p = parse_frame(input, frame_max);
        if (p.status != parse_status::ok) {
            QMQ_ASSERT(p.status == parse_status::need_more || p.reply_code == reply::frame_error);
            break;
        }
        QMQ_ASSERT(p.consumed >= frame_overhead && p.consumed <= input.size());
        if (p.frame.type == frame_method) {
            auto m = decode_method(p.frame.payload);
            if (m.ok()) {
                bytes again;
                byte_writer w(again);
                encode(w, *m);
                auto back = decode_method(again);
                QMQ_ASSERT(back.ok());
                // NaN in a table compares unequal to itself; compare bytes.
                bytes third;
                byte_writer w3(third);
                encode(w3, *back);
                QMQ_ASSERT(third == again);
            } else {
                uint16_t c = m.err().code;
                QMQ_ASSERT(c == 501 || c == 502 || c == 540);
            }
        } else if (p.frame.type == frame_header) {
            auto h = decode_content_header(p.frame.payload);
            if (h.ok()) {
                content c;
                c.class_id = h->class_id;
                c.properties = h->properties;
                bytes again;
                byte_writer w(again);
                write_content_frames(w, 1, c, 0);
                auto q = parse_frame(again, 0);
                QMQ_ASSERT(q.status == parse_status::ok);
                auto h2 = decode_content_header(q.frame.payload);
                QMQ_ASSERT(h2.ok());
                QMQ_ASSERT(h2->properties.flags() == h->properties.flags());
            }
        }
        input = input.subspan(p.consumed);
    }
    return 0;
}
