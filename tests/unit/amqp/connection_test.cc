#include "amqp/connection.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace qmq::amqp {
namespace {

using testing::client_writer;
using testing::from_hex;
using testing::harness;

content make_content(std::size_t body_size, std::string type = "text/plain") {
    content c;
    c.properties.content_type = std::move(type);
    c.properties.delivery_mode = 2;
    c.body.resize(body_size);
    for (std::size_t i = 0; i < body_size; ++i) {
        c.body[i] = static_cast<std::byte>(i * 31);
    }
    return c;
}

// The closing reply the server sent, as (code, text).
std::pair<uint16_t, std::string> closed_with(const harness& h) {
    const auto* c = h.last<connection_close>();
    if (c == nullptr) {
        return {0, "no connection.close sent"};
    }
    return {c->reply_code, c->reply_text};
}

bool contains(const std::string& s, std::string_view part) {
    return s.find(part) != std::string::npos;
}

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

    connection_start_ok so;
    so.client_properties = harness::capabilities();
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.client_properties = harness::capabilities();
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0wrong", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0wrong", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
        connection_start_ok so;
        so.mechanism = "PLAIN";
        so.response = std::string("\0guest\0guest", 12);
        c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.client_properties = harness::capabilities();
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
    connection_start_ok so;
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    c.send(0, so);
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
