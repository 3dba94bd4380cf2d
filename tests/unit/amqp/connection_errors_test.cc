// The connection machine: connection-level errors, close, blocked, events and output.

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

// --- connection-level errors ---

TEST(Errors, UnknownFrameTypeIs501AndInputIsIgnoredAfter) {
    harness h;
    h.open();
    client_writer c;
    c.frame(9, 0, {});
    c.send(1, channel_open{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 501);
    EXPECT_TRUE(contains(text, "unknown frame type 9")) << text;
    EXPECT_EQ(h.count<channel_opened>(), 0);
    EXPECT_EQ(h.count<connection_closed>(), 1);
}

TEST(Errors, BadFrameEndIs501) {
    harness h;
    h.open();
    client_writer c;
    c.frame(frame_method, 1, from_hex("0014000a00"), 0x00);
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 501);
    EXPECT_TRUE(contains(text, "invalid frame end marker 0")) << text;
}

TEST(Errors, TruncatedMethodArgumentsAre501) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.frame(frame_method, 1, from_hex("0032000a0000"));  // queue.declare cut short
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 501);
    EXPECT_TRUE(contains(text, "cannot decode queue.declare")) << text;
}

TEST(Errors, UnknownMethodIs540) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.frame(frame_method, 1, from_hex("003c00ff"));
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 540);
    EXPECT_TRUE(contains(text, "unknown method: class 60 method 255")) << text;
}

TEST(Errors, GarbageTableIs502) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.frame(frame_method, 1, from_hex("0032000a000001710000000003016b5a"));
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 502);
}

TEST(Errors, SecondConnectionOpenIs503) {
    harness h;
    h.open();
    client_writer c;
    c.send(0, connection_open{"/", "", false});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 503);
    EXPECT_TRUE(contains(text, "second 'connection.open'")) << text;
}

TEST(Errors, UpdateSecretIs540) {
    harness h;
    h.open();
    client_writer c;
    c.send(0, connection_update_secret{"t", "r"});
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 540);
}

TEST(Errors, ChannelMethodOnChannelZeroIs503) {
    harness h;
    h.open();
    client_writer c;
    c.send(0, queue_declare{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 503);
    EXPECT_TRUE(contains(text, "not allowed on channel 0")) << text;
}

TEST(Errors, ContentOnChannelZeroIs505) {
    harness h;
    h.open();
    client_writer c;
    c.send_content(0, make_content(1));
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 505);
}

TEST(Errors, AfterAnErrorOnlyCloseOkMatters) {
    harness h;
    h.open();
    client_writer c;
    c.send(0, queue_declare{});  // 503
    h.feed(c);
    h.events.clear();
    c.send(1, channel_open{});
    c.send(0, connection_open{"/", "", false});
    h.feed(c);
    EXPECT_TRUE(h.events.empty());
    EXPECT_FALSE(h.conn->finished());
    c.send(0, connection_close_ok{});
    h.feed(c);
    EXPECT_TRUE(h.conn->finished());
}

TEST(Errors, CloseTimesOutWithoutCloseOk) {
    connection_limits l;
    l.close_timeout_ms = 2000;
    harness h(l);
    h.open();
    client_writer c;
    c.frame(9, 0, {});
    h.feed(c);
    h.tick(1999);
    EXPECT_FALSE(h.conn->finished());
    h.tick(1);
    EXPECT_TRUE(h.conn->finished());
    EXPECT_EQ(h.count<connection_closed>(), 1);
}

// --- close ---

TEST(Close, ByTheClient) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    c.send(0, connection_close{200, "Normal shutdown", 0, 0});
    h.feed(c);
    EXPECT_NE(h.last<connection_close_ok>(), nullptr);
    EXPECT_TRUE(h.conn->finished());
    const auto* closed = h.event<connection_closed>();
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->reply_code, 200);
    EXPECT_EQ(closed->reason, "Normal shutdown");
    EXPECT_TRUE(closed->by_peer);
    EXPECT_FALSE(h.conn->is_channel_open(1));
}

TEST(Close, ByTheOwnerWaitsForCloseOk) {
    harness h;
    h.open();
    h.conn->close_connection(320, "broker shutdown");
    h.collect();
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 320);
    EXPECT_EQ(text, "CONNECTION_FORCED - broker shutdown");
    EXPECT_EQ(h.count<connection_closed>(), 0);
    client_writer c;
    c.send(0, connection_close_ok{});
    h.feed(c);
    EXPECT_TRUE(h.conn->finished());
    ASSERT_EQ(h.count<connection_closed>(), 1);
    EXPECT_EQ(h.event<connection_closed>()->reply_code, 320);
}

TEST(Close, CrossingClosesFinish) {
    harness h;
    h.open();
    h.conn->close_connection(320, "shutdown");
    client_writer c;
    c.send(0, connection_close{200, "", 0, 0});
    h.feed(c);
    EXPECT_NE(h.last<connection_close_ok>(), nullptr);
    EXPECT_TRUE(h.conn->finished());
}

// --- blocked ---

TEST(Blocked, SentOnlyOnChangeAndOnlyWithTheCapability) {
    harness h;
    h.open();
    h.conn->set_blocked(true, "low on memory");
    h.conn->set_blocked(true, "low on memory");
    h.collect();
    ASSERT_EQ(h.sent.size(), 1u);
    EXPECT_EQ(std::get<connection_blocked>(*h.sent[0].m).reason, "low on memory");
    h.conn->set_blocked(false, "");
    h.collect();
    ASSERT_EQ(h.sent.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<connection_unblocked>(*h.sent[1].m));

    harness old;
    old.open(0, field_table{});
    old.conn->set_blocked(true, "x");
    old.collect();
    EXPECT_TRUE(old.sent.empty());
}

TEST(Blocked, StateSetBeforeOpenIsSentAtOpen) {
    harness h;
    h.conn->set_blocked(true, "disk");
    client_writer c;
    c.header();
    c.start_ok_plain("guest", "guest", harness::capabilities());
    c.send(0, connection_tune_ok{0, 0, 0});
    c.send(0, connection_open{"/", "", false});
    h.feed(c);
    ASSERT_NE(h.last<connection_blocked>(), nullptr);
    EXPECT_EQ(h.last<connection_blocked>()->reason, "disk");
}

TEST(Events, AppendingOverloadsAddToTheCallersVector) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain();
    c.send(0, connection_tune_ok{0, 0, 1});
    c.send(0, connection_open{"/", "", false});
    c.send(1, channel_open{});
    std::vector<connection_event> events;
    events.emplace_back(channel_opened{99});  // the caller's own: kept
    h.conn->feed(c.take(), h.now, events);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(std::get<channel_opened>(events[0]).channel, 99);
    EXPECT_TRUE(std::holds_alternative<connection_opened>(events[1]));
    EXPECT_EQ(std::get<channel_opened>(events[2]).channel, 1);
    h.conn->tick(h.now + 2000, events);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_TRUE(std::holds_alternative<connection_closed>(events[3]));
}

TEST(Events, CloseBeforeTheHeaderIsReportedAtTheNextCall) {
    harness h;
    h.conn->close_connection(320, "shutdown");
    EXPECT_TRUE(h.conn->finished());
    EXPECT_FALSE(h.conn->has_output());
    auto events = h.conn->tick(h.now);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<connection_closed>(events[0]).reply_code, 320);
    EXPECT_TRUE(h.conn->tick(h.now).empty());
}

TEST(Output, TakeOutputReusesTheBuffer) {
    harness h;
    h.open();
    h.conn->send(0, connection_blocked{"a"});
    bytes buf;
    buf.reserve(4096);
    h.conn->take_output(buf);
    EXPECT_FALSE(buf.empty());
    EXPECT_FALSE(h.conn->has_output());
    const auto* data = buf.data();
    buf.clear();
    h.conn->take_output(buf);  // swap back: our old buffer goes to the machine
    h.conn->send(0, connection_unblocked{});
    bytes again;
    h.conn->take_output(again);
    EXPECT_EQ(again.data(), data);
}

}  // namespace
}  // namespace qmq::amqp
