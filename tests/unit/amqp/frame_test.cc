#include "amqp/frame.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace qmq::amqp {
namespace {

using testing::from_hex;
using testing::pika_vector;

#include "pika_vectors.inc"

TEST(Frame, HeartbeatBytes) {
    bytes b;
    byte_writer w(b);
    write_heartbeat_frame(w);
    EXPECT_EQ(b, from_hex("0800000000"
                          "0000ce"));
}

TEST(Frame, ParsesOnlyWhenCompleteAtEverySplit) {
    bytes b;
    byte_writer w(b);
    write_method_frame(w, 7, basic_ack{99, true});
    for (std::size_t n = 0; n < b.size(); ++n) {
        auto p = parse_frame(bytes_view(b).first(n), 131072);
        EXPECT_EQ(p.status, parse_status::need_more) << n;
    }
    auto p = parse_frame(b, 131072);
    ASSERT_EQ(p.status, parse_status::ok);
    EXPECT_EQ(p.consumed, b.size());
    EXPECT_EQ(p.frame.type, frame_method);
    EXPECT_EQ(p.frame.channel, 7);
    auto m = decode_method(p.frame.payload);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(std::get<basic_ack>(*m), (basic_ack{99, true}));
}

TEST(Frame, PayloadIsAViewIntoTheInput) {
    bytes b = from_hex("03000100000003616263ce");
    auto p = parse_frame(b, 0);
    ASSERT_EQ(p.status, parse_status::ok);
    EXPECT_EQ(p.frame.payload.data(), b.data() + 7);
    EXPECT_EQ(as_string_view(p.frame.payload), "abc");
}

TEST(Frame, WrongFrameEndIs501) {
    auto p = parse_frame(from_hex("0800000000000000"), 131072);
    ASSERT_EQ(p.status, parse_status::error);
    EXPECT_EQ(p.reply_code, 501);
    EXPECT_NE(p.reply_text.find("frame end"), std::string::npos);
}

TEST(Frame, UnknownTypeIs501BeforeThePayloadArrives) {
    auto p = parse_frame(from_hex("04000000001000"), 131072);
    ASSERT_EQ(p.status, parse_status::error);
    EXPECT_EQ(p.reply_code, 501);
    EXPECT_NE(p.reply_text.find("unknown frame type 4"), std::string::npos);
}

TEST(Frame, OversizedIs501FromTheHeaderAlone) {
    // 4089 + 8 > 4096, with no payload present yet.
    auto p = parse_frame(from_hex("0300010000"
                                  "0ff9"),
                         4096);
    ASSERT_EQ(p.status, parse_status::error);
    EXPECT_EQ(p.reply_code, 501);
    EXPECT_NE(p.reply_text.find("frame_max 4096"), std::string::npos) << p.reply_text;
    // Exactly frame_max is fine.
    auto q = parse_frame(from_hex("0300010000"
                                  "0ff8"),
                         4096);
    EXPECT_EQ(q.status, parse_status::need_more);
}

TEST(Frame, ContentIsCutAtFrameMax) {
    content c;
    c.properties.content_type = "text/plain";
    c.body.assign(10000, std::byte{'z'});
    bytes b;
    byte_writer w(b);
    write_content_frames(w, 3, c, 4096);
    auto frames = testing::parse_all(b);
    ASSERT_EQ(frames.size(), 4u);  // header + 4088 + 4088 + 1824
    EXPECT_EQ(frames[0].type, frame_header);
    EXPECT_EQ(frames[1].payload.size(), 4088u);
    EXPECT_EQ(frames[2].payload.size(), 4088u);
    EXPECT_EQ(frames[3].payload.size(), 1824u);
    auto h = decode_content_header(frames[0].payload);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->body_size, 10000u);
    EXPECT_EQ(h->properties.content_type, "text/plain");
    for (std::size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(frames[i].channel, 3);
    }
}

TEST(Frame, EmptyBodySendsOnlyTheHeader) {
    content c;
    bytes b;
    byte_writer w(b);
    write_content_frames(w, 1, c, 131072);
    EXPECT_EQ(testing::parse_all(b).size(), 1u);
}

TEST(ContentHeader, DecodesPikaPropertiesAndWritesThemBack) {
    bytes wire = from_hex(header_vector);
    auto h = decode_content_header(wire);
    ASSERT_TRUE(h.ok()) << h.err().message;
    EXPECT_EQ(h->class_id, 60);
    EXPECT_EQ(h->body_size, 12345u);
    const auto& p = h->properties;
    EXPECT_EQ(p.content_type, "application/json");
    EXPECT_EQ(p.content_encoding, "gzip");
    ASSERT_TRUE(p.headers);
    EXPECT_EQ(p.headers->get_int("i"), 1);
    EXPECT_EQ(p.delivery_mode, 2);
    EXPECT_TRUE(p.persistent());
    EXPECT_EQ(p.priority, 5);
    EXPECT_EQ(p.correlation_id, "corr");
    EXPECT_EQ(p.reply_to, "amq.rabbitmq.reply-to");
    EXPECT_EQ(p.expiration, "60000");
    EXPECT_EQ(p.message_id, "mid-1");
    EXPECT_EQ(p.timestamp, 1700000000u);
    EXPECT_EQ(p.type, "t");
    EXPECT_EQ(p.user_id, "guest");
    EXPECT_EQ(p.app_id, "app");
    EXPECT_EQ(p.cluster_id, "c1");
    EXPECT_EQ(p.flags(), 0xFFFC);

    content c;
    c.properties = p;
    c.body.assign(12345, std::byte{1});
    bytes out;
    byte_writer w(out);
    write_content_frames(w, 1, c, 131072);
    auto frames = testing::parse_all(out);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].payload, wire);
    EXPECT_EQ(encoded_size(p) + 12, wire.size());
}

TEST(ContentHeader, EachPropertyAloneRoundTrips) {
    std::vector<basic_properties> cases(14);
    cases[0].content_type = "a";
    cases[1].content_encoding = "b";
    cases[2].headers = field_table{{"h", int8_t{-1}}};
    cases[3].delivery_mode = 1;
    cases[4].priority = 9;
    cases[5].correlation_id = "c";
    cases[6].reply_to = "r";
    cases[7].expiration = "100";
    cases[8].message_id = "m";
    cases[9].timestamp = 77;
    cases[10].type = "ty";
    cases[11].user_id = "u";
    cases[12].app_id = "ap";
    cases[13].cluster_id = "cl";
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(cases[i].flags(), 1u << (15 - i));
        bytes b;
        byte_writer w(b);
        encode_properties(w, cases[i]);
        EXPECT_EQ(b.size(), encoded_size(cases[i]));
        byte_reader r(b);
        auto back = decode_properties(r);
        ASSERT_TRUE(back.ok());
        EXPECT_TRUE(r.at_end());
        EXPECT_EQ(*back, cases[i]) << i;
    }
}

TEST(ContentHeader, MalformedHeaders) {
    // truncated before body size
    auto a = decode_content_header(from_hex("003c0000"));
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.err().code, 501);
    // nonzero weight
    auto b = decode_content_header(from_hex("003c000100000000000000000000"));
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.err().code, 505);
    // continuation flag set
    auto c = decode_content_header(from_hex("003c000000000000000000000001"));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.err().code, 502);
    // content-type flag but no string
    auto d = decode_content_header(from_hex("003c000000000000000000008000"));
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.err().code, 501);
    // extra byte after properties
    auto e = decode_content_header(from_hex("003c00000000000000000000000000"));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.err().code, 501);
    // every truncation of the pika header fails
    bytes wire = from_hex(header_vector);
    for (std::size_t n = 0; n < wire.size(); ++n) {
        EXPECT_FALSE(decode_content_header(bytes_view(wire).first(n)).ok()) << n;
    }
}

}  // namespace
}  // namespace qmq::amqp
