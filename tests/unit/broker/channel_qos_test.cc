// basic.qos global=true shared by the consumers of a channel (RabbitMQ's
// per_consumer_qos reading), and CC/BCC sender-selected routing.

#include <gtest/gtest.h>

#include <set>

#include "broker/broker.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "harness.h"

namespace qmq::broker {
namespace {

using testing::client;

class ChannelQos : public ::testing::Test {
  protected:
    broker b{config::defaults()};
    client c{b};
    void SetUp() override {
        b.tick(1'000'000);
        c.open();
    }
    std::vector<amqp::basic_deliver> delivers() {
        std::vector<amqp::basic_deliver> v;
        for (const auto& s : c.all<amqp::basic_deliver>()) {
            v.push_back(std::get<amqp::basic_deliver>(s.m));
        }
        return v;
    }
    void fill(const std::string& q, int n) {
        for (int i = 0; i < n; ++i) {
            c.publish("", q, q + std::to_string(i));
        }
    }
    // Deliveries sent and not acked by the test so far.
    std::size_t outstanding(std::size_t acked) { return delivers().size() - acked; }
};

TEST_F(ChannelQos, GlobalLimitIsSharedByTheChannelsConsumers) {
    c.declare("a");
    c.declare("b");
    fill("a", 10);
    fill("b", 10);
    c.send(amqp::basic_qos{0, 3, true});
    c.consume("a");
    c.consume("b");
    EXPECT_EQ(delivers().size(), 3u);
    // Acking one makes room for exactly one more.
    c.send(amqp::basic_ack{delivers()[0].delivery_tag, false});
    EXPECT_EQ(outstanding(1), 3u);
    // Ack everything sent so far, repeatedly: never more than 3 outstanding.
    std::size_t acked = 1;
    for (int round = 0; round < 20 && delivers().size() < 20; ++round) {
        ASSERT_LE(outstanding(acked), 3u);
        c.send(amqp::basic_ack{delivers().back().delivery_tag, true});
        acked = delivers().size();
    }
    EXPECT_EQ(delivers().size(), 20u);
    // Tags stay monotonic and every body arrived once.
    std::set<std::string> bodies;
    uint64_t last = 0;
    for (const auto& s : c.all<amqp::basic_deliver>()) {
        const auto& d = std::get<amqp::basic_deliver>(s.m);
        EXPECT_GT(d.delivery_tag, last);
        last = d.delivery_tag;
        bodies.insert(testing::text_of(*s.c));
    }
    EXPECT_EQ(bodies.size(), 20u);
}

TEST_F(ChannelQos, PerConsumerAndGlobalBothApply) {
    c.declare("a");
    c.declare("b");
    fill("a", 10);
    fill("b", 10);
    c.send(amqp::basic_qos{0, 2, false});  // each consumer started after it
    c.send(amqp::basic_qos{0, 3, true});   // and the channel as a whole
    c.consume("a");
    c.consume("b");
    auto d = delivers();
    ASSERT_EQ(d.size(), 3u);
    // a got 2 (its own limit), b 1 (the channel's).
    const auto count = [&](const std::string& tag) {
        std::size_t n = 0;
        for (const auto& x : delivers()) {
            n += x.consumer_tag == tag;
        }
        return n;
    };
    const std::string ta = d[0].consumer_tag;
    EXPECT_EQ(count(ta), 2u);
    // Raising the channel limit lets b fill up to its own 2, no more.
    c.send(amqp::basic_qos{0, 10, true});
    EXPECT_EQ(delivers().size(), 4u);
}

TEST_F(ChannelQos, HeldDeliveriesOfACancelledConsumerGoToOthers) {
    c.declare("q");
    fill("q", 6);
    c.send(amqp::basic_qos{0, 1, true});
    const std::string t1 = c.consume("q", false, "c1");
    const std::string t2 = c.consume("q", false, "c2");
    EXPECT_EQ(delivers().size(), 1u);
    // Another connection consumes too; cancel c2 (which may hold one).
    client other{b};
    other.open();
    other.consume("q");
    c.send(amqp::basic_cancel{t2, false});
    c.send(amqp::basic_cancel{t1, false});
    // Nothing was lost: our one unacked + whatever the other got = 6 after
    // we close (our unacked returns).
    c.close_channel();
    EXPECT_EQ(other.delivered().size(), 6u);
}

TEST_F(ChannelQos, ChannelCloseReturnsHeldDeliveries) {
    c.declare("q");
    fill("q", 5);
    c.send(amqp::basic_qos{0, 2, true});
    c.consume("q", false, "c1");
    c.consume("q", false, "c2");
    EXPECT_EQ(delivers().size(), 2u);
    c.close_channel();
    auto* q = b.find_vhost("/")->find_queue("q");
    EXPECT_EQ(q->message_count(), 5u);
    EXPECT_EQ(q->state().unacked_count(), 0u);
}

// ---- CC / BCC -----------------------------------------------------------------

TEST_F(ChannelQos, CcAndBccRouteTooAndBccIsRemoved) {
    for (const char* q : {"k1", "k2", "k3", "k4"}) {
        c.declare(q);
        c.bind(q, "amq.direct", q);
    }
    amqp::basic_properties p;
    p.headers = amqp::field_table{
        {"CC", amqp::field_array{amqp::field_value("k2")}},
        {"BCC", amqp::field_array{amqp::field_value("k3"), amqp::field_value("k1")}},
        {"other", "kept"}};
    c.publish("amq.direct", "k1", "m", p);
    for (const char* q : {"k1", "k2", "k3"}) {
        amqp::basic_get g;
        g.queue = q;
        g.no_ack = true;
        c.send(g);
        ASSERT_TRUE(std::holds_alternative<amqp::basic_get_ok>(c.sink.out.back().m)) << q;
        const auto& h = c.sink.out.back().c->properties.headers;
        ASSERT_TRUE(h.has_value());
        EXPECT_FALSE(h->contains("BCC")) << q;
        EXPECT_TRUE(h->contains("CC")) << q;
        EXPECT_TRUE(h->contains("other")) << q;
        // k1 is named twice (routing key and BCC): one copy only.
        EXPECT_EQ(c.get(q), std::nullopt) << q;
    }
    EXPECT_EQ(c.get("k4"), std::nullopt);
}

TEST_F(ChannelQos, CcThroughTopicAndExchangeBindingsAndAlternateOnlyWhenNothingRoutes) {
    amqp::exchange_declare ae;
    ae.exchange = "ae";
    ae.type = "fanout";
    c.send(ae);
    amqp::exchange_declare t;
    t.exchange = "t";
    t.type = "topic";
    t.arguments = amqp::field_table{{"alternate-exchange", "ae"}};
    c.send(t);
    amqp::exchange_declare inner;
    inner.exchange = "inner";
    inner.type = "direct";
    c.send(inner);
    amqp::exchange_bind eb;
    eb.destination = "inner";
    eb.source = "t";
    eb.routing_key = "x.#";
    c.send(eb);
    c.declare("via-topic");
    c.bind("via-topic", "t", "a.*");
    c.declare("via-inner");
    c.bind("via-inner", "inner", "x.y");
    c.declare("alt");
    c.bind("alt", "ae", "");
    amqp::basic_properties p;
    p.headers = amqp::field_table{{"CC", amqp::field_array{amqp::field_value("x.y")}}};
    c.publish("t", "a.b", "both", p);  // a.b -> via-topic; CC x.y -> inner -> via-inner
    EXPECT_EQ(c.get("via-topic"), "both");
    EXPECT_EQ(c.get("via-inner"), "both");
    EXPECT_EQ(c.get("alt"), std::nullopt);  // something routed: no AE
    amqp::basic_properties none;
    none.headers = amqp::field_table{{"CC", amqp::field_array{amqp::field_value("zzz")}}};
    c.publish("t", "nothing", "lost", none);
    EXPECT_EQ(c.get("alt"), "lost");
}

}  // namespace
}  // namespace qmq::broker
