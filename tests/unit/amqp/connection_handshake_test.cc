// The connection machine: handshake, tune negotiation and heartbeats.

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

// --- handshake ---

TEST(Handshake, PlainLoginThroughOpen) {
    harness h;
    client_writer c;
    c.header();
    h.feed(c);
    const auto* start = h.last<connection_start>();
    ASSERT_NE(start, nullptr);
    EXPECT_EQ(start->version_major, 0);
    EXPECT_EQ(start->version_minor, 9);
    EXPECT_EQ(start->mechanisms, "PLAIN AMQPLAIN");
    EXPECT_EQ(start->locales, "en_US");
    const auto* caps = start->server_properties.get_table("capabilities");
    ASSERT_NE(caps, nullptr);
    for (const char* cap : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                            "consumer_cancel_notify", "connection.blocked",
                            "authentication_failure_close", "per_consumer_qos"}) {
        EXPECT_EQ(caps->get_bool(cap), true) << cap;
    }
    EXPECT_EQ(*start->server_properties.get_string("product"), "QuorumMQ");
    EXPECT_NE(start->server_properties.get_string("version"), nullptr);
    EXPECT_NE(start->server_properties.get_string("platform"), nullptr);

    c.start_ok_plain("guest", "guest", harness::capabilities());
    h.feed(c);
    EXPECT_EQ(h.auth.last_mechanism, "PLAIN");
    EXPECT_TRUE(h.auth.last_loopback);
    const auto* tune = h.last<connection_tune>();
    ASSERT_NE(tune, nullptr);
    EXPECT_EQ(tune->channel_max, 2047);
    EXPECT_EQ(tune->frame_max, 131072u);
    EXPECT_EQ(tune->heartbeat, 60);

    c.send(0, connection_tune_ok{100, 8192, 0});
    c.send(0, connection_open{"/", "", false});
    h.feed(c);
    EXPECT_NE(h.last<connection_open_ok>(), nullptr);
    ASSERT_TRUE(h.conn->opened());
    const auto* opened = h.event<connection_opened>();
    ASSERT_NE(opened, nullptr);
    EXPECT_EQ(opened->user, "guest");
    EXPECT_EQ(opened->vhost, "/");
    EXPECT_EQ(*opened->client_properties.get_string("product"), "test-client");
    EXPECT_EQ(h.conn->channel_max(), 100);
    EXPECT_EQ(h.conn->frame_max(), 8192u);
}

TEST(Handshake, WholeHandshakeFedOneByteAtATime) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain();
    c.send(0, connection_tune_ok{0, 0, 0});
    c.send(0, connection_open{"/", "", false});
    c.send(1, channel_open{});
    c.send(1, basic_publish{0, "ex", "rk", false, false});
    c.send_content(1, make_content(5000), 4096);
    bytes all = c.take();
    for (std::byte b : all) {
        h.feed(bytes{b});
    }
    EXPECT_TRUE(h.conn->opened());
    EXPECT_EQ(h.count<channel_opened>(), 1);
    const auto* got = h.event<method_received>();
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(std::get<basic_publish>(got->m).routing_key, "rk");
    ASSERT_TRUE(got->body);
    EXPECT_EQ(*got->body, make_content(5000));
}

TEST(Handshake, AmqplainLogin) {
    harness h;
    client_writer c;
    c.header();
    connection_start_ok so;
    so.mechanism = "AMQPLAIN";
    field_table t{{"LOGIN", "guest"}, {"PASSWORD", "guest"}};
    bytes body;
    byte_writer w(body);
    encode_table(w, t);
    so.response = std::string(as_string_view(body).substr(4));  // no length prefix
    c.send(0, so);
    c.send(0, connection_tune_ok{0, 0, 0});
    c.send(0, connection_open{"/", "", false});
    h.feed(c);
    EXPECT_EQ(h.auth.last_mechanism, "AMQPLAIN");
    EXPECT_TRUE(h.conn->opened());
}

TEST(Handshake, PlainWithEmptyResponseGoesThroughSecure) {
    harness h;
    client_writer c;
    c.header();
    connection_start_ok so;
    so.mechanism = "PLAIN";
    c.send(0, so);
    h.feed(c);
    ASSERT_NE(h.last<connection_secure>(), nullptr);
    EXPECT_EQ(h.auth.logins, 0);
    c.send(0, connection_secure_ok{std::string("\0guest\0guest", 12)});
    h.feed(c);
    EXPECT_EQ(h.auth.logins, 1);
    EXPECT_NE(h.last<connection_tune>(), nullptr);
}

TEST(Handshake, WrongProtocolHeaderGetsOursBackAndCloses) {
    for (const char* hex : {"414d515001010009", "414d515000000900", "474554202f204854"}) {
        harness h;
        h.feed(from_hex(hex));
        EXPECT_EQ(h.raw_out, from_hex("414d515000000901")) << hex;
        EXPECT_TRUE(h.conn->finished()) << hex;
        const auto* closed = h.event<connection_closed>();
        ASSERT_NE(closed, nullptr);
        EXPECT_TRUE(contains(closed->reason, "bad protocol header")) << closed->reason;
        // Nothing more is read.
        EXPECT_TRUE(h.conn->feed(from_hex("414d515000000901"), h.now).empty());
        EXPECT_FALSE(h.conn->has_output());
    }
}

TEST(Handshake, BadPasswordIs403WithAuthenticationFailureClose) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain("guest", "wrong", harness::capabilities());
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 403);
    EXPECT_TRUE(contains(text,
                         "ACCESS_REFUSED - Login was refused using authentication "
                         "mechanism PLAIN"))
        << text;
    ASSERT_NE(h.event<connection_closed>(), nullptr);
    EXPECT_EQ(h.event<connection_closed>()->reply_code, 403);
    EXPECT_FALSE(h.conn->finished());  // waits for close-ok
    c.send(0, connection_close_ok{});
    h.feed(c);
    EXPECT_TRUE(h.conn->finished());
    EXPECT_EQ(h.count<connection_closed>(), 1);
}

TEST(Handshake, BadPasswordWithoutTheCapabilityJustCloses) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain("guest", "wrong");
    h.feed(c);
    EXPECT_EQ(h.last<connection_close>(), nullptr);
    EXPECT_TRUE(h.conn->finished());
    EXPECT_EQ(h.event<connection_closed>()->reply_code, 403);
}

TEST(Handshake, UnknownMechanismIs503) {
    harness h;
    client_writer c;
    c.header();
    connection_start_ok so;
    so.mechanism = "EXTERNAL";
    c.send(0, so);
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 503);
    EXPECT_TRUE(contains(text, "unknown authentication mechanism 'EXTERNAL'")) << text;
}

TEST(Handshake, MalformedPlainAndAmqplainAre403) {
    for (auto [mech, resp] : {std::pair<std::string, std::string>{"PLAIN", "no-nuls"},
                              {"AMQPLAIN", "\x05LOGINS"},
                              {"AMQPLAIN", std::string("\x01xt\x01", 4)}}) {
        harness h;
        client_writer c;
        c.header();
        connection_start_ok so;
        so.mechanism = mech;
        so.response = resp;
        c.send(0, so);
        h.feed(c);
        EXPECT_EQ(closed_with(h).first, 403) << mech << " " << closed_with(h).second;
        EXPECT_EQ(h.auth.logins, 0);
    }
}

TEST(Handshake, UnknownVhostIs530) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain();
    c.send(0, connection_tune_ok{0, 0, 0});
    c.send(0, connection_open{"nope", "", false});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 530);
    EXPECT_EQ(text, "NOT_ALLOWED - vhost nope not found");
    EXPECT_EQ(h.last<connection_close>()->class_id, 10);
    EXPECT_EQ(h.last<connection_close>()->method_id, 40);
    EXPECT_FALSE(h.conn->opened());
}

TEST(Handshake, OutOfOrderMethodIs503) {
    harness h;
    client_writer c;
    c.header();
    c.send(0, connection_open{"/", "", false});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 503);
    EXPECT_TRUE(contains(text, "expected 'connection.start-ok', got 'connection.open'")) << text;
}

TEST(Handshake, ChannelFrameBeforeOpenIs504) {
    harness h;
    client_writer c;
    c.header();
    c.send(1, channel_open{});
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 504);
}

TEST(Handshake, TimesOutWithoutOpen) {
    connection_limits l;
    l.handshake_timeout_ms = 5000;
    harness h(l);
    client_writer c;
    c.header();
    h.feed(c);
    h.tick(4999);
    EXPECT_FALSE(h.conn->finished());
    h.tick(1);
    EXPECT_TRUE(h.conn->finished());
    EXPECT_TRUE(contains(h.event<connection_closed>()->reason, "handshake timeout"));
}

TEST(Handshake, ClientCloseDuringHandshake) {
    harness h;
    client_writer c;
    c.header();
    c.send(0, connection_close{200, "bye", 0, 0});
    h.feed(c);
    EXPECT_NE(h.last<connection_close_ok>(), nullptr);
    EXPECT_TRUE(h.conn->finished());
    EXPECT_TRUE(h.event<connection_closed>()->by_peer);
}

// --- tune ---

struct tune_case {
    uint16_t channel_max;
    uint32_t frame_max;
    uint16_t want_code;  // 0: accepted
    const char* text;
};

TEST(Tune, NegotiationRules) {
    for (const auto& tc : {
             tune_case{2047, 131072, 0, ""},
             tune_case{0, 0, 0, ""},  // 0 takes our offer
             tune_case{1, 4096, 0, ""},
             tune_case{2048, 131072, 530,
                       "negotiated channel_max = 2048 is higher than the maximum allowed value "
                       "(2047)"},
             tune_case{10, 4095, 530,
                       "negotiated frame_max = 4095 is lower than the minimum allowed value "
                       "(4096)"},
             tune_case{10, 131073, 530, "frame_max = 131073 is higher than the maximum"},
         }) {
        harness h;
        client_writer c;
        c.header();
        c.start_ok_plain();
        c.send(0, connection_tune_ok{tc.channel_max, tc.frame_max, 0});
        c.send(0, connection_open{"/", "", false});
        h.feed(c);
        if (tc.want_code == 0) {
            EXPECT_TRUE(h.conn->opened()) << tc.channel_max << " " << tc.frame_max;
            EXPECT_EQ(h.conn->channel_max(), tc.channel_max == 0 ? 2047 : tc.channel_max);
            EXPECT_EQ(h.conn->frame_max(), tc.frame_max == 0 ? 131072u : tc.frame_max);
        } else {
            auto [code, text] = closed_with(h);
            EXPECT_EQ(code, tc.want_code);
            EXPECT_TRUE(contains(text, tc.text)) << text;
            EXPECT_FALSE(h.conn->opened());
        }
    }
}

TEST(Tune, FrameMaxIsEnforcedAfterNegotiation) {
    connection_limits l;
    harness h(l);
    client_writer c;
    c.header();
    c.start_ok_plain();
    c.send(0, connection_tune_ok{10, 4096, 0});
    c.send(0, connection_open{"/", "", false});
    c.send(1, channel_open{});
    c.send(1, basic_publish{});
    h.feed(c);
    ASSERT_TRUE(h.conn->opened());
    // A body frame of 4089 payload bytes is one byte over.
    bytes payload(4089, std::byte{0});
    c.frame(frame_header, 1,
            from_hex("003c0000"
                     "0000000000001000"
                     "0000"));
    c.frame(frame_body, 1, payload);
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 501);
    EXPECT_TRUE(contains(text, "exceeds the negotiated frame_max 4096")) << text;
}

TEST(Tune, ChannelAboveChannelMaxIs530) {
    harness h;
    client_writer c;
    c.header();
    c.start_ok_plain();
    c.send(0, connection_tune_ok{5, 0, 0});
    c.send(0, connection_open{"/", "", false});
    c.send(5, channel_open{});
    h.feed(c);
    EXPECT_EQ(h.count<channel_opened>(), 1);
    c.send(6, channel_open{});
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 530);
    EXPECT_TRUE(contains(text, "channel 6 is above the negotiated channel_max 5")) << text;
}

// --- heartbeats ---

TEST(Heartbeat, SentWhenIdleAndPeerDeclaredDeadAfterTwoIntervals) {
    harness h;
    h.open(10);
    EXPECT_EQ(h.conn->heartbeat_s(), 10);
    h.tick(4999);
    EXPECT_TRUE(h.sent.empty());
    h.tick(1);  // half the interval with nothing sent
    ASSERT_EQ(h.sent.size(), 1u);
    EXPECT_EQ(h.sent[0].type, frame_heartbeat);
    EXPECT_EQ(h.sent[0].channel, 0);
    // The client keeps sending heartbeats: alive.
    for (int i = 0; i < 10; ++i) {
        client_writer c;
        c.frame(frame_heartbeat, 0, {});
        h.feed(c);
        h.tick(9000);
    }
    EXPECT_FALSE(h.conn->finished());
    // Then silence: 20 s after the last byte, it is dead.
    h.tick(10999);
    EXPECT_FALSE(h.conn->finished());
    h.tick(1);
    EXPECT_TRUE(h.conn->finished());
    const auto* closed = h.event<connection_closed>();
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->reply_code, 0);
    EXPECT_EQ(closed->reason, "missed heartbeats from client, timeout: 10s");
}

TEST(Heartbeat, AnyTrafficCountsAndZeroDisables) {
    harness h;
    h.open(0);
    h.tick(1000000);
    EXPECT_FALSE(h.conn->finished());
    EXPECT_TRUE(h.sent.empty());

    harness g;
    g.open(2);
    g.conn->send(0, connection_blocked{"x"});  // any frame sent resets the send timer
    g.tick(999);
    g.collect();
    size_t before = g.sent.size();
    g.tick(1);
    EXPECT_EQ(g.sent.size(), before + 1);  // heartbeat at 1 s
}

TEST(Heartbeat, PausedCheckSurvivesSilenceAndRestartsOnResume) {
    harness h;
    h.open(10);
    h.conn->pause_heartbeat_check(true);
    h.tick(60000);  // a blocked publisher is not read: no dead-peer verdict
    EXPECT_FALSE(h.conn->finished());
    EXPECT_FALSE(h.sent.empty());  // our heartbeats still go out
    h.conn->pause_heartbeat_check(false);
    h.tick(19999);
    EXPECT_FALSE(h.conn->finished());
    h.tick(1);
    EXPECT_TRUE(h.conn->finished());
}

TEST(Heartbeat, WithAPayloadIs501) {
    harness h;
    h.open();
    client_writer c;
    c.frame(frame_heartbeat, 0, testing::to_bytes("hello"));
    h.feed(c);
    auto [code, text] = closed_with(h);
    EXPECT_EQ(code, 501);
    EXPECT_TRUE(contains(text, "heartbeat frame with a 5-byte payload")) << text;
}

TEST(Heartbeat, OnAChannelOtherThanZeroIs501) {
    harness h;
    h.open();
    client_writer c;
    c.frame(frame_heartbeat, 1, {});
    h.feed(c);
    EXPECT_EQ(closed_with(h).first, 501);
}

}  // namespace
}  // namespace qmq::amqp
