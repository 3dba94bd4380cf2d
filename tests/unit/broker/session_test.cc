#include "broker/session.h"

#include <gtest/gtest.h>

#include "broker/broker.h"
#include "broker/password.h"
#include "broker/vhost.h"
#include "harness.h"

namespace qmq::broker {
namespace {

using testing::body;
using testing::client;
using testing::text_of;

amqp::basic_properties with_expiration(std::string ms) {
    amqp::basic_properties p;
    p.expiration = std::move(ms);
    return p;
}

class SessionTest : public ::testing::Test {
  protected:
    broker b{config::defaults()};
    client c{b};
    void SetUp() override {
        b.tick(1'000'000);
        c.open();
    }
};

TEST_F(SessionTest, PublishToDefaultExchangeThenGet) {
    auto ok = c.declare("q");
    EXPECT_EQ(ok.queue, "q");
    EXPECT_EQ(ok.message_count, 0u);
    c.publish("", "q", "one");
    c.publish("", "q", "two");
    EXPECT_EQ(c.declare("q").message_count, 2u);
    EXPECT_EQ(c.get("q"), "one");
    EXPECT_EQ(c.last<amqp::basic_get_ok>().message_count, 1u);
    EXPECT_EQ(c.get("q"), "two");
    EXPECT_EQ(c.get("q"), std::nullopt);
}

TEST_F(SessionTest, ServerNamedQueue) {
    auto ok = c.declare("");
    EXPECT_TRUE(ok.queue.starts_with("amq.gen-"));
    c.publish("", ok.queue, "m");
    // "" means the last declared queue on the channel.
    EXPECT_EQ(c.get(""), "m");
}

TEST_F(SessionTest, ConsumeOkComesBeforeDeliveriesAndAckFrees) {
    c.declare("q");
    c.publish("", "q", "a");
    c.publish("", "q", "b");
    c.sink.out.clear();
    const std::string tag = c.consume("q");
    ASSERT_GE(c.sink.out.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<amqp::basic_consume_ok>(c.sink.out[0].m));
    EXPECT_EQ(c.delivered(), (std::vector<std::string>{"a", "b"}));
    const auto d = c.last<amqp::basic_deliver>();
    EXPECT_EQ(d.consumer_tag, tag);
    EXPECT_EQ(d.delivery_tag, 2u);
    c.send(amqp::basic_ack{2, true});
    EXPECT_TRUE(c.sink.channel_closes.empty());
    auto* q = b.find_vhost("/")->find_queue("q");
    EXPECT_EQ(q->state().unacked_count(), 0u);
    EXPECT_EQ(q->store().size(), 0u);
}

TEST_F(SessionTest, UnknownOrDoubleAckClosesChannelWith406) {
    c.declare("q");
    c.publish("", "q", "a");
    c.consume("q");
    c.send(amqp::basic_ack{1, false});
    c.send(amqp::basic_ack{1, false});
    EXPECT_EQ(c.last_channel_close_code(), 406);
    EXPECT_EQ(c.last_channel_close_text(), "PRECONDITION_FAILED - unknown delivery tag 1");
}

TEST_F(SessionTest, NackRequeueRedeliversFlaggedInOriginalPosition) {
    c.declare("q");
    c.publish("", "q", "a");
    c.publish("", "q", "b");
    c.publish("", "q", "c");
    ASSERT_EQ(c.get("q", false), "a");
    ASSERT_EQ(c.get("q", false), "b");
    c.send(amqp::basic_nack{2, true, true});  // both back
    auto redelivered_get = [&]() {
        c.get("q", true);
        return c.last<amqp::basic_get_ok>().redelivered;
    };
    EXPECT_TRUE(redelivered_get());
    EXPECT_EQ(text_of(*c.sink.out.back().c), "a");
    EXPECT_TRUE(redelivered_get());
    EXPECT_EQ(text_of(*c.sink.out.back().c), "b");
    EXPECT_FALSE(redelivered_get());
    EXPECT_EQ(text_of(*c.sink.out.back().c), "c");
}

TEST_F(SessionTest, ChannelCloseReturnsUnackedToTheQueue) {
    c.declare("q");
    c.publish("", "q", "a");
    c.consume("q");
    c.close_channel(1);
    c.open(2);
    amqp::basic_get g;
    g.queue = "q";
    g.no_ack = true;
    c.send(g, 2);
    ASSERT_TRUE(std::holds_alternative<amqp::basic_get_ok>(c.sink.out.back().m));
    EXPECT_TRUE(std::get<amqp::basic_get_ok>(c.sink.out.back().m).redelivered);
}

TEST_F(SessionTest, MandatoryUnroutableIsReturnedWith312) {
    c.publish("amq.direct", "nowhere", "lost", {}, true);
    const auto r = c.last<amqp::basic_return>();
    EXPECT_EQ(r.reply_code, 312);
    EXPECT_EQ(r.reply_text, "NO_ROUTE");
    EXPECT_EQ(r.exchange, "amq.direct");
    EXPECT_EQ(text_of(*c.sink.out.back().c), "lost");
}

TEST_F(SessionTest, ImmediateClosesTheConnectionWith540) {
    amqp::basic_publish p;
    p.routing_key = "q";
    p.immediate = true;
    amqp::content m = body("x");
    c.s().on_method(1, p, &m);
    ASSERT_TRUE(c.sink.connection_close.has_value());
    EXPECT_EQ(c.sink.connection_close->code, 540);
}

TEST_F(SessionTest, PublishToMissingExchangeIs404) {
    c.publish("nope", "k", "x");
    EXPECT_EQ(c.last_channel_close_code(), 404);
    EXPECT_EQ(c.last_channel_close_text(), "NOT_FOUND - no exchange 'nope' in vhost '/'");
}

TEST_F(SessionTest, RedeclareWithDifferentPropertiesIs406) {
    c.declare("q", {{"x-message-ttl", 100}});
    c.declare("q", {{"x-message-ttl", 200}});
    EXPECT_EQ(c.last_channel_close_code(), 406);
    EXPECT_NE(c.last_channel_close_text().find("x-message-ttl"), std::string::npos);
    c.open(2);
    amqp::exchange_declare x;
    x.exchange = "e";
    x.type = "direct";
    c.send(x, 2);
    x.type = "fanout";
    c.send(x, 2);
    EXPECT_EQ(c.last_channel_close_code(), 406);
    EXPECT_EQ(c.last_channel_close_text(),
              "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'e' in vhost '/': "
              "received 'fanout' but current is 'direct'");
}

TEST_F(SessionTest, QuorumQueueIsRefused) {
    c.declare("qq", {{"x-queue-type", "quorum"}});
    EXPECT_EQ(c.last_channel_close_code(), 406);
    EXPECT_NE(c.last_channel_close_text().find("not supported yet"), std::string::npos);
}

TEST_F(SessionTest, ReservedNamesAndDefaultExchangeAre403) {
    c.declare("q");
    c.declare("amq.mine");
    EXPECT_EQ(c.last_channel_close_code(), 403);
    c.open(2);
    amqp::queue_bind qb;
    qb.queue = "q";
    qb.exchange = "";
    c.send(qb, 2);
    EXPECT_EQ(c.last_channel_close_code(), 403);
}

TEST_F(SessionTest, UnknownExchangeTypeIsAConnectionError) {
    amqp::exchange_declare x;
    x.exchange = "e";
    x.type = "weird";
    c.send(x);
    ASSERT_TRUE(c.sink.connection_close.has_value());
    EXPECT_EQ(c.sink.connection_close->code, 503);
}

TEST_F(SessionTest, ExclusiveQueueIsLockedForOtherConnections) {
    c.declare("ex", {}, true);
    client other(b);
    other.open();
    other.declare("ex", {}, true);
    EXPECT_EQ(other.last_channel_close_code(), 405);
    other.open(2);
    amqp::basic_get g;
    g.queue = "ex";
    other.send(g, 2);
    EXPECT_EQ(other.last_channel_close_code(), 405);
    // Deleted with its connection.
    c.disconnect();
    EXPECT_EQ(b.find_vhost("/")->find_queue("ex"), nullptr);
}

TEST_F(SessionTest, AutoDeleteQueueGoesWithItsLastConsumer) {
    c.declare("ad", {}, false, true);
    const std::string t1 = c.consume("ad");
    const std::string t2 = c.consume("ad");
    c.send(amqp::basic_cancel{t1, false});
    EXPECT_NE(b.find_vhost("/")->find_queue("ad"), nullptr);
    c.send(amqp::basic_cancel{t2, false});
    b.tick(1'000'100);
    EXPECT_EQ(b.find_vhost("/")->find_queue("ad"), nullptr);
}

TEST_F(SessionTest, DeletingAConsumedQueueCancelsItsConsumers) {
    c.declare("q");
    const std::string tag = c.consume("q");
    client other(b);
    other.open();
    amqp::queue_delete d;
    d.queue = "q";
    other.send(d);
    const auto cancel = c.last<amqp::basic_cancel>();
    EXPECT_EQ(cancel.consumer_tag, tag);
}

TEST_F(SessionTest, DeleteIfEmptyAndPurgeCounts) {
    c.declare("q");
    c.publish("", "q", "a");
    c.publish("", "q", "b");
    amqp::queue_delete d;
    d.queue = "q";
    d.if_empty = true;
    c.send(d);
    EXPECT_EQ(c.last_channel_close_code(), 406);
    c.open(2);
    amqp::queue_purge p;
    p.queue = "q";
    c.send(p, 2);
    EXPECT_EQ(c.last<amqp::queue_purge_ok>().message_count, 2u);
    c.publish("", "q", "c", {}, false, 2);
    d.if_empty = false;
    c.send(d, 2);
    EXPECT_EQ(c.last<amqp::queue_delete_ok>().message_count, 1u);
}

TEST_F(SessionTest, ConsumerTagReuseIsNotAllowed) {
    c.declare("q");
    c.consume("q", false, "t");
    amqp::basic_consume again;
    again.queue = "q";
    again.consumer_tag = "t";
    c.send(again);
    ASSERT_TRUE(c.sink.connection_close.has_value());
    EXPECT_EQ(c.sink.connection_close->code, 530);
}

TEST_F(SessionTest, TopicAndFanoutRoutingShareOneBody) {
    c.declare("a");
    c.declare("b");
    c.bind("a", "amq.topic", "stock.*.nyse");
    c.bind("b", "amq.topic", "stock.#");
    c.publish("amq.topic", "stock.ibm.nyse", "p1");
    c.publish("amq.topic", "stock.ibm.lse", "p2");
    auto* vh = b.find_vhost("/");
    EXPECT_EQ(vh->find_queue("a")->message_count(), 1u);
    EXPECT_EQ(vh->find_queue("b")->message_count(), 2u);
    EXPECT_EQ(c.get("a"), "p1");
    EXPECT_EQ(c.get("b"), "p1");
    EXPECT_EQ(c.get("b"), "p2");
}

TEST_F(SessionTest, HeadersExchange) {
    c.declare("pdf");
    c.bind("pdf", "amq.headers", "", {{"x-match", "all"}, {"format", "pdf"}});
    amqp::basic_properties p;
    p.headers = amqp::field_table{{"format", "pdf"}};
    c.publish("amq.headers", "", "doc", p);
    p.headers = amqp::field_table{{"format", "zip"}};
    c.publish("amq.headers", "", "zip", p);
    EXPECT_EQ(c.get("pdf"), "doc");
    EXPECT_EQ(c.get("pdf"), std::nullopt);
    c.bind("pdf", "amq.headers", "", {{"x-match", "maybe"}});
    EXPECT_EQ(c.last_channel_close_code(), 406);
}

TEST_F(SessionTest, ExchangeToExchangeAndAlternateExchange) {
    amqp::exchange_declare x;
    x.exchange = "front";
    x.type = "direct";
    x.arguments = {{"alternate-exchange", "unrouted"}};
    c.send(x);
    x.exchange = "unrouted";
    x.type = "fanout";
    x.arguments = {};
    c.send(x);
    x.exchange = "back";
    x.type = "topic";
    c.send(x);
    amqp::exchange_bind eb;
    eb.destination = "back";
    eb.source = "front";
    eb.routing_key = "k";
    c.send(eb);
    c.declare("via-back");
    c.bind("via-back", "back", "#");
    c.declare("lost");
    c.bind("lost", "unrouted", "");
    c.publish("front", "k", "routed");
    c.publish("front", "other", "alt");
    EXPECT_EQ(c.get("via-back"), "routed");
    EXPECT_EQ(c.get("via-back"), std::nullopt);
    EXPECT_EQ(c.get("lost"), "alt");
    EXPECT_TRUE(c.sink.channel_closes.empty());
}

TEST_F(SessionTest, AutoDeleteExchangeGoesWithItsLastBinding) {
    amqp::exchange_declare x;
    x.exchange = "tmp";
    x.type = "fanout";
    x.auto_delete = true;
    c.send(x);
    c.declare("q");
    c.bind("q", "tmp", "");
    amqp::queue_unbind u;
    u.queue = "q";
    u.exchange = "tmp";
    c.send(u);
    EXPECT_EQ(b.find_vhost("/")->find_exchange("tmp"), nullptr);
}

TEST_F(SessionTest, InternalExchangeRefusesPublish) {
    amqp::exchange_declare x;
    x.exchange = "int";
    x.type = "fanout";
    x.internal = true;
    c.send(x);
    c.publish("int", "", "m");
    EXPECT_EQ(c.last_channel_close_code(), 403);
}

TEST_F(SessionTest, ConfirmsAckEachPublishAndNackOnReject) {
    c.declare("small", {{"x-max-length", 1}, {"x-overflow", "reject-publish"}});
    c.send(amqp::confirm_select{});
    EXPECT_EQ(c.all<amqp::confirm_select_ok>().size(), 1u);
    // One read each: the server ends a batch after every socket read.
    c.publish("", "small", "1");
    c.s().on_batch_end();
    c.publish("", "small", "2");
    c.s().on_batch_end();
    c.publish("", "nowhere", "3");  // unroutable messages are confirmed too
    c.s().on_batch_end();
    auto acks = c.all<amqp::basic_ack>();
    auto nacks = c.all<amqp::basic_nack>();
    ASSERT_EQ(acks.size(), 2u);
    ASSERT_EQ(nacks.size(), 1u);
    EXPECT_EQ(std::get<amqp::basic_ack>(acks[0].m).delivery_tag, 1u);
    EXPECT_EQ(std::get<amqp::basic_nack>(nacks[0].m).delivery_tag, 2u);
    EXPECT_EQ(std::get<amqp::basic_ack>(acks[1].m).delivery_tag, 3u);
}

TEST_F(SessionTest, MaxLengthDropHeadKeepsTheNewest) {
    c.declare("ring", {{"x-max-length", 2}});
    c.publish("", "ring", "1");
    c.publish("", "ring", "2");
    c.publish("", "ring", "3");
    EXPECT_EQ(c.get("ring"), "2");
    EXPECT_EQ(c.get("ring"), "3");
}

TEST_F(SessionTest, TxCommitAndRollback) {
    c.declare("q");
    c.send(amqp::tx_select{});
    c.publish("", "q", "rolled back");
    c.send(amqp::tx_rollback{});
    c.publish("", "q", "committed");
    EXPECT_EQ(b.find_vhost("/")->find_queue("q")->message_count(), 0u);
    c.send(amqp::tx_commit{});
    EXPECT_EQ(c.all<amqp::tx_commit_ok>().size(), 1u);
    EXPECT_EQ(c.get("q"), "committed");
    EXPECT_EQ(c.get("q"), std::nullopt);
    c.send(amqp::confirm_select{});
    EXPECT_EQ(c.last_channel_close_code(), 406);
}

TEST_F(SessionTest, RejectWithoutRequeueDeadLettersWithXDeath) {
    c.declare("dlq");
    c.declare("work", {{"x-dead-letter-exchange", ""}, {"x-dead-letter-routing-key", "dlq"}});
    c.publish("", "work", "poison");
    ASSERT_EQ(c.get("work", false), "poison");
    const uint64_t tag = c.last<amqp::basic_get_ok>().delivery_tag;
    c.send(amqp::basic_reject{tag, false});
    ASSERT_EQ(c.get("dlq"), "poison");
    const auto& props = c.sink.out.back().c->properties;
    ASSERT_TRUE(props.headers.has_value());
    const amqp::field_array* deaths = props.headers->get_array("x-death");
    ASSERT_NE(deaths, nullptr);
    ASSERT_EQ(deaths->size(), 1u);
    const auto* d = (*deaths)[0].get_if<amqp::field_table>();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(*d->get_string("reason"), "rejected");
    EXPECT_EQ(*d->get_string("queue"), "work");
    EXPECT_EQ(*d->get_string("exchange"), "");
    EXPECT_EQ(d->get_int("count"), 1);
    const amqp::field_array* keys = d->get_array("routing-keys");
    ASSERT_NE(keys, nullptr);
    EXPECT_EQ(*(*keys)[0].as_string(), "work");
    EXPECT_EQ(*props.headers->get_string("x-first-death-reason"), "rejected");
    EXPECT_EQ(c.last<amqp::basic_get_ok>().routing_key, "dlq");
}

TEST_F(SessionTest, TtlExpiryOnTickDeadLetters) {
    c.declare("expired");
    c.declare("ttl", {{"x-message-ttl", 1000},
                      {"x-dead-letter-exchange", ""},
                      {"x-dead-letter-routing-key", "expired"}});
    // As in RabbitMQ, messages expire from the head: the 10 ms message goes
    // first because it is first.
    c.publish("", "ttl", "per-message", with_expiration("10"));
    c.publish("", "ttl", "old");
    b.tick(1'000'500);
    auto* vh = b.find_vhost("/");
    EXPECT_EQ(vh->find_queue("expired")->message_count(), 1u);  // the 10 ms one
    EXPECT_EQ(vh->find_queue("ttl")->message_count(), 1u);
    b.tick(1'002'000);
    EXPECT_EQ(vh->find_queue("ttl")->message_count(), 0u);
    EXPECT_EQ(c.get("expired"), "per-message");
    const auto& props = c.sink.out.back().c->properties;
    const auto* d = (*props.headers->get_array("x-death"))[0].get_if<amqp::field_table>();
    EXPECT_EQ(*d->get_string("reason"), "expired");
    EXPECT_EQ(*d->get_string("original-expiration"), "10");
    EXPECT_FALSE(props.expiration.has_value());
    EXPECT_EQ(c.get("expired"), "old");
}

TEST_F(SessionTest, BadExpirationIs406) {
    c.declare("q");
    c.publish("", "q", "x", with_expiration("soon"));
    EXPECT_EQ(c.last_channel_close_code(), 406);
}

TEST_F(SessionTest, QueueExpiresWhenUnused) {
    c.declare("temp", {{"x-expires", 1000}});
    b.tick(1'000'500);
    EXPECT_NE(b.find_vhost("/")->find_queue("temp"), nullptr);
    b.tick(1'002'000);
    b.tick(1'002'100);
    EXPECT_EQ(b.find_vhost("/")->find_queue("temp"), nullptr);
}

TEST_F(SessionTest, PriorityQueueDeliversHighestFirst) {
    c.declare("prio", {{"x-max-priority", 10}});
    for (int p : {1, 5, 3}) {
        amqp::basic_properties props;
        props.priority = static_cast<uint8_t>(p);
        c.publish("", "prio", "p" + std::to_string(p), props);
    }
    EXPECT_EQ(c.get("prio"), "p5");
    EXPECT_EQ(c.get("prio"), "p3");
    EXPECT_EQ(c.get("prio"), "p1");
}

TEST_F(SessionTest, PrefetchLimitsUnackedPerConsumer) {
    c.declare("q");
    for (int i = 0; i < 5; ++i)
        c.publish("", "q", std::to_string(i));
    c.send(amqp::basic_qos{0, 2, false});
    c.consume("q");
    EXPECT_EQ(c.delivered().size(), 2u);
    c.send(amqp::basic_ack{1, false});
    EXPECT_EQ(c.delivered().size(), 3u);
    c.send(amqp::basic_ack{3, true});
    EXPECT_EQ(c.delivered().size(), 5u);
}

TEST_F(SessionTest, WorkQueueRoundRobinsAcrossConnections) {
    c.declare("work");
    client w2(b);
    w2.open();
    c.send(amqp::basic_qos{0, 1, false});
    w2.send(amqp::basic_qos{0, 1, false});
    c.consume("work");
    w2.consume("work");
    c.publish("", "work", "1");
    c.publish("", "work", "2");
    c.publish("", "work", "3");
    EXPECT_EQ(c.delivered(), (std::vector<std::string>{"1"}));
    EXPECT_EQ(w2.delivered(), (std::vector<std::string>{"2"}));
    c.send(amqp::basic_ack{1, false});
    EXPECT_EQ(c.delivered(), (std::vector<std::string>{"1", "3"}));
}

TEST_F(SessionTest, NoAckConsumerGetsEverythingAndQueueKeepsNothing) {
    c.declare("q");
    c.consume("q", true);
    for (int i = 0; i < 100; ++i)
        c.publish("", "q", std::to_string(i));
    EXPECT_EQ(c.delivered().size(), 100u);
    auto* q = b.find_vhost("/")->find_queue("q");
    EXPECT_EQ(q->store().size(), 0u);
    EXPECT_EQ(q->state().unacked_count(), 0u);
}

TEST_F(SessionTest, ConsumerPriorityPrefersHigher) {
    c.declare("q");
    c.consume("q", false, "low", {{"x-priority", 1}});
    c.consume("q", false, "high", {{"x-priority", 10}});
    c.publish("", "q", "m");
    EXPECT_EQ(c.last<amqp::basic_deliver>().consumer_tag, "high");
}

TEST_F(SessionTest, ExclusiveConsumerRefusesOthers) {
    c.declare("q");
    c.consume("q");
    amqp::basic_consume ex;
    ex.queue = "q";
    ex.exclusive = true;
    c.send(ex);
    EXPECT_EQ(c.last_channel_close_code(), 403);
}

TEST_F(SessionTest, SingleActiveConsumerHandsOver) {
    c.declare("sac", {{"x-single-active-consumer", true}});
    c.consume("sac", false, "first");
    c.open(2);
    c.consume("sac", false, "second", {}, 2);
    c.publish("", "sac", "1");
    c.publish("", "sac", "2");
    for (const auto& d : c.all<amqp::basic_deliver>()) {
        EXPECT_EQ(std::get<amqp::basic_deliver>(d.m).consumer_tag, "first");
    }
    c.close_channel(1);
    // Both return to the second consumer, redelivered.
    const auto d = c.last<amqp::basic_deliver>();
    EXPECT_EQ(d.consumer_tag, "second");
    EXPECT_TRUE(d.redelivered);
}

TEST_F(SessionTest, RecoverRequeuesUnacked) {
    c.declare("q");
    c.publish("", "q", "m");
    c.consume("q");
    c.send(amqp::basic_recover{true});
    EXPECT_EQ(c.all<amqp::basic_recover_ok>().size(), 1u);
    EXPECT_EQ(c.delivered(), (std::vector<std::string>{"m", "m"}));
    EXPECT_TRUE(c.last<amqp::basic_deliver>().redelivered);
}

TEST(SessionPermissions, WriteAndReadRegexesAreEnforced) {
    config cfg = config::defaults();
    cfg.users.push_back({"bob", hash_password("pw", {1, 2, 3, 4}), {}});
    cfg.permissions.push_back({"bob", "/", "^bob-", "^(amq\\.default|bob-.*)$", "^bob-"});
    broker b(cfg);
    client bob(b, "bob");
    bob.open();
    bob.declare("bob-q");
    EXPECT_TRUE(bob.sink.channel_closes.empty());
    bob.publish("", "bob-q", "ok");
    EXPECT_EQ(bob.get("bob-q"), "ok");
    bob.declare("other");
    EXPECT_EQ(bob.last_channel_close_code(), 403);
    bob.open(2);
    bob.publish("amq.topic", "k", "x", {}, false, 2);
    EXPECT_EQ(bob.last_channel_close_code(), 403);
    EXPECT_EQ(bob.last_channel_close_text(),
              "ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost '/' refused for "
              "user 'bob'");
}

TEST(SessionAuth, BrokerIsTheAuthenticator) {
    broker b(config::defaults());
    amqp::authenticator& auth = b;
    EXPECT_TRUE(auth.login("PLAIN", "guest", "guest", true).ok());
    EXPECT_EQ(auth.login("PLAIN", "guest", "guest", false).reply_code, 403);
    EXPECT_EQ(auth.login("PLAIN", "guest", "wrong", true).reply_code, 403);
    EXPECT_TRUE(auth.open_vhost("guest", "/").ok());
    EXPECT_EQ(auth.open_vhost("guest", "nope").reply_code, 530);
}

}  // namespace
}  // namespace qmq::broker
