// The connection machine: channels and content assembly.

#include <gtest/gtest.h>

#include "amqp/connection.h"
#include "connection_checks.h"
#include "test_util.h"

namespace qmq::amqp {
namespace {

using testing::client_writer;
using testing::closed_with;
using testing::contains;
using testing::from_hex;
using testing::harness;
using testing::make_content;

// --- channels ---

TEST(Channel, OpenCloseAndReopen) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    h.feed(c);
    EXPECT_NE(h.last<channel_open_ok>(), nullptr);
    EXPECT_EQ(h.sent.back().channel, 1);
    ASSERT_NE(h.event<channel_opened>(), nullptr);
    EXPECT_EQ(h.event<channel_opened>()->channel, 1);
    EXPECT_TRUE(h.conn->is_channel_open(1));

    c.send(1, channel_close{200, "done", 0, 0});
    h.feed(c);
    EXPECT_NE(h.last<channel_close_ok>(), nullptr);
    const auto* closed = h.event<channel_closed>();
    ASSERT_NE(closed, nullptr);
    EXPECT_TRUE(closed->by_peer);
    EXPECT_EQ(closed->reason, "done");
    EXPECT_FALSE(h.conn->is_channel_open(1));

    c.send(1, channel_open{});
    h.feed(c);
    EXPECT_EQ(h.count<channel_opened>(), 2);
}

TEST(Channel, SecondOpenIs504) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, channel_open{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 504);
    EXPECT_TRUE(contains(text, "second 'channel.open'")) << text;
}

TEST(Channel, MethodOnAClosedChannelIs504) {
    harness h;
    h.open();
    client_writer c;
    c.send(3, queue_declare{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 504);
    EXPECT_TRUE(contains(text, "expected 'channel.open' on channel 3, got 'queue.declare'"))
        << text;
    EXPECT_EQ(h.event<method_received>(), nullptr);
}

TEST(Channel, ContentOnAClosedChannelIs504) {
    harness h;
    h.open();
    client_writer c;
    c.send_content(3, make_content(3));
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 504);
}

TEST(Channel, OwnerCloseDiscardsUntilCloseOk) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    h.feed(c);
    h.conn->close_channel(1, 404, "no queue 'q' in vhost '/'", 50, 10);
    h.collect();
    const auto* close = h.last<channel_close>();
    ASSERT_NE(close, nullptr);
    EXPECT_EQ(close->reply_code, 404);
    EXPECT_EQ(close->reply_text, "NOT_FOUND - no queue 'q' in vhost '/'");
    EXPECT_EQ(close->class_id, 50);
    EXPECT_EQ(close->method_id, 10);
    EXPECT_FALSE(h.conn->is_channel_open(1));
    h.events.clear();
    // The client had these in flight; they are dropped, content included.
    c.send(1, basic_publish{});
    c.send_content(1, make_content(10));
    c.send(1, queue_declare{});
    c.send(1, channel_close_ok{});
    h.feed(c);
    EXPECT_TRUE(h.events.empty());
    EXPECT_TRUE(h.conn->opened());
    // Sends to a closing channel are dropped.
    size_t before = h.sent.size();
    h.conn->send(1, basic_ack{1, false});
    h.collect();
    EXPECT_EQ(h.sent.size(), before);
    c.send(1, channel_open{});
    h.feed(c);
    EXPECT_EQ(h.count<channel_opened>(), 1);
    EXPECT_EQ(h.count<channel_closed>(), 0);  // owner-initiated: not reported
}

TEST(Channel, CloseCrossingOursIsAnswered) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    h.feed(c);
    h.conn->close_channel(1, 406, "PRECONDITION_FAILED - x");
    c.send(1, channel_close{200, "", 0, 0});
    h.feed(c);
    EXPECT_NE(h.last<channel_close_ok>(), nullptr);
    c.send(1, channel_close_ok{});  // its answer to ours, late: ignored
    c.send(1, channel_open{});
    h.feed(c);
    EXPECT_TRUE(h.conn->is_channel_open(1));
}

TEST(Channel, FlowActiveIsAnsweredAndInactiveIs540) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, channel_flow{true});
    h.feed(c);
    ASSERT_NE(h.last<channel_flow_ok>(), nullptr);
    EXPECT_TRUE(h.last<channel_flow_ok>()->active);
    c.send(1, channel_flow{false});
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 540);
}

TEST(Channel, AccessRequestIsAnsweredHere) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, access_request{});
    h.feed(c);
    ASSERT_NE(h.last<access_request_ok>(), nullptr);
    EXPECT_EQ(h.last<access_request_ok>()->ticket, 1);
    EXPECT_EQ(h.event<method_received>(), nullptr);
}

TEST(Channel, BrokerMethodsArePassedOnInOrder) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(2, channel_open{});
    queue_declare q;
    q.queue = "jobs";
    q.durable = true;
    q.arguments.set("x-max-length", int32_t{5});
    c.send(1, q);
    c.send(2, basic_qos{0, 10, false});
    c.send(1, basic_ack{7, true});
    h.feed(c);
    std::vector<std::pair<uint16_t, std::string_view>> got;
    for (const auto& e : h.events) {
        if (const auto* m = std::get_if<method_received>(&e)) {
            got.emplace_back(m->channel, name_of(m->m));
            EXPECT_FALSE(m->body);
        }
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], (std::pair<uint16_t, std::string_view>{1, "queue.declare"}));
    EXPECT_EQ(got[1], (std::pair<uint16_t, std::string_view>{2, "basic.qos"}));
    EXPECT_EQ(got[2], (std::pair<uint16_t, std::string_view>{1, "basic.ack"}));
    const auto& decl = std::get<queue_declare>(h.event<method_received>()->m);
    EXPECT_EQ(decl, q);
}

TEST(Channel, ServerOnlyMethodFromClientIs503) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, basic_deliver{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 503);
    EXPECT_TRUE(contains(text, "'basic.deliver' is not a method a client may send")) << text;
}

TEST(Channel, ConnectionMethodOnAChannelIs503) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, connection_close{200, "", 0, 0});
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 503);
}

// --- content ---

TEST(Content, AssembledAcrossFramesAndFeeds) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    basic_publish p{0, "amq.direct", "key", true, false};
    c.send(1, p);
    content body = make_content(300000);
    c.send_content(1, body, h.conn->frame_max());
    bytes all = c.take();
    // Feed in uneven pieces so frames straddle feeds.
    std::size_t at = 0, step = 1;
    while (at < all.size()) {
        std::size_t n = std::min(step, all.size() - at);
        h.feed(bytes(all.begin() + static_cast<std::ptrdiff_t>(at),
                     all.begin() + static_cast<std::ptrdiff_t>(at + n)));
        at += n;
        step = step * 3 + 1;
    }
    ASSERT_EQ(h.count<method_received>(), 1);
    const auto* m = h.event<method_received>();
    EXPECT_EQ(std::get<basic_publish>(m->m), p);
    ASSERT_TRUE(m->body);
    EXPECT_EQ(*m->body, body);
}

TEST(Content, EmptyBodyCompletesAtTheHeader) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, basic_publish{});
    c.send_content(1, make_content(0));
    h.feed(c);
    ASSERT_NE(h.event<method_received>(), nullptr);
    EXPECT_TRUE(h.event<method_received>()->body->body.empty());
}

TEST(Content, InterleavedChannels) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(2, channel_open{});
    c.send(1, basic_publish{0, "", "one", false, false});
    c.send(2, basic_publish{0, "", "two", false, false});
    content one = make_content(10, "a");
    content two = make_content(20, "b");
    c.send_content(2, two);
    c.send_content(1, one);
    h.feed(c);
    ASSERT_EQ(h.count<method_received>(), 2);
    for (const auto& e : h.events) {
        if (const auto* m = std::get_if<method_received>(&e)) {
            EXPECT_EQ(*m->body, m->channel == 1 ? one : two);
            EXPECT_EQ(std::get<basic_publish>(m->m).routing_key, m->channel == 1 ? "one" : "two");
        }
    }
}

TEST(Content, MethodWhenHeaderExpectedIs505) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, basic_publish{});
    c.send(1, basic_qos{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 505);
    EXPECT_TRUE(contains(text,
                         "expected content header for 'basic.publish' on channel 1, got "
                         "a method frame"))
        << text;
    EXPECT_EQ(h.last<connection_close>()->class_id, 60);
    EXPECT_EQ(h.last<connection_close>()->method_id, 40);
}

TEST(Content, HeaderWhenMethodExpectedIs505) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send_content(1, make_content(4));
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 505);
    EXPECT_TRUE(contains(text, "expected a method frame on channel 1, got a content header"))
        << text;
}

TEST(Content, BodyLongerThanAnnouncedIs501) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, basic_publish{});
    c.frame(frame_header, 1,
            from_hex("003c0000"
                     "0000000000000004"
                     "0000"));
    c.frame(frame_body, 1, from_hex("0102030405"));
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 501);
    EXPECT_TRUE(contains(text, "content body frame of 5 bytes is longer than the 4 bytes left"))
        << text;
}

TEST(Content, HeaderForAnotherClassIs505) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(1, basic_publish{});
    c.frame(frame_header, 1,
            from_hex("00320000"
                     "0000000000000004"
                     "0000"));
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 505);
}

TEST(Content, OverTheMessageSizeLimitClosesTheChannelWith406) {
    connection_limits l;
    l.message_size_max = 1000;
    harness h(l);
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(2, channel_open{});
    c.send(1, basic_publish{});
    c.send_content(1, make_content(1001));
    c.send(2, basic_publish{});
    c.send_content(2, make_content(1000));
    h.feed(c);
    const auto* close = h.last<channel_close>();
    ASSERT_NE(close, nullptr);
    EXPECT_EQ(close->reply_code, 406);
    EXPECT_EQ(close->reply_text,
              "PRECONDITION_FAILED - message size 1001 is larger than configured max size 1000");
    const auto* closed = h.event<channel_closed>();
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->channel, 1);
    EXPECT_FALSE(closed->by_peer);
    // The body frames of channel 1 are swallowed; channel 2 is untouched.
    EXPECT_TRUE(h.conn->opened());
    ASSERT_EQ(h.count<method_received>(), 1);
    EXPECT_EQ(h.event<method_received>()->channel, 2);
}

TEST(Content, OutgoingContentIsCutAtTheNegotiatedFrameMax) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain();
    c.send(0, connection_tune_ok{0, 4096, 0});
    c.send(0, connection_open{"/", "", false});
    c.send(1, channel_open{});
    h.feed(c);
    h.sent.clear();
    basic_deliver d{"ctag", 1, false, "", "q"};
    content body = make_content(9000);
    h.conn->send(1, d, &body);
    h.collect();
    ASSERT_EQ(h.sent.size(), 5u);  // method, header, 4088 + 4088 + 824
    EXPECT_EQ(std::get<basic_deliver>(*h.sent[0].m), d);
    EXPECT_EQ(h.sent[4].payload.size(), 824u);
    // And via the variant.
    h.sent.clear();
    h.conn->send_method(1, method{d}, &body);
    h.collect();
    EXPECT_EQ(h.sent.size(), 5u);
}

}  // namespace
}  // namespace qmq::amqp
