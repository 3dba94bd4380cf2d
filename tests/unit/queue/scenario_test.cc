// Readable scenarios, one feature or edge per test, for the queue machine.

#include <gtest/gtest.h>

#include "queue/describe.h"
#include "queue/machine.h"
#include "unit/queue/harness.h"

namespace qmq::queue {
namespace {

using testing::delivered_refs;
using testing::dropped_refs;
using testing::effects_of;
using testing::harness;

std::vector<message_ref> refs(std::initializer_list<message_ref> l) {
    return l;
}

TEST(QueueBasics, MessagesWaitForAConsumerThenGoOutInOrder) {
    harness q;
    auto a = q.publish();
    auto b = q.publish();
    EXPECT_EQ(q.state.ready_count(), 2u);
    auto r = q.consume(1);
    EXPECT_EQ(std::get<status_reply>(r.r).code, status::ok);
    EXPECT_EQ(delivered_refs(r), refs({a, b}));
    EXPECT_EQ(q.state.ready_count(), 0u);
    EXPECT_EQ(q.state.unacked_count(), 2u);
    auto s = q.ack(1, {a, b});
    EXPECT_EQ(std::get<count_reply>(s.r).count, 2u);
    EXPECT_EQ(q.state.live_count(), 0u);
}

TEST(QueueBasics, PublisherConfirmCarriesSequence) {
    harness q;
    auto r = q.run(enqueue{owner_id(7), 1, 0, 5, 0, std::nullopt});
    EXPECT_EQ(std::get<enqueue_reply>(r.r).outcome, enqueue_outcome::accepted);
    auto c = effects_of<confirm>(r);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0], (confirm{owner_id(7), 1, enqueue_outcome::accepted}));
    // No confirm mode, no confirm effect.
    EXPECT_TRUE(effects_of<confirm>(q.run(enqueue{owner_id(7), 0, 0, 5, 0, {}})).empty());
}

TEST(QueueBasics, SettleOfUnknownConsumerOrRefIsIgnored) {
    harness q;
    auto a = q.publish();
    q.consume(1);
    EXPECT_EQ(std::get<count_reply>(q.ack(2, {a}).r).code, status::unknown_consumer);
    EXPECT_EQ(std::get<count_reply>(q.ack(1, {message_ref(999)}).r).count, 0u);
    EXPECT_EQ(q.state.unacked_count(), 1u);
}

TEST(QueueConsumers, PrefetchBoundsInFlightAndCreditRaisesIt) {
    harness q;
    for (int i = 0; i < 5; ++i)
        q.publish();
    auto r = q.consume(1, 2);
    EXPECT_EQ(delivered_refs(r).size(), 2u);
    EXPECT_EQ(q.state.ready_count(), 3u);
    auto a = q.ack(1, {delivered_refs(r)[0]});
    EXPECT_EQ(delivered_refs(a).size(), 1u);
    auto c = q.run(credit{consumer_id(1), 0});
    EXPECT_EQ(delivered_refs(c).size(), 2u);
    EXPECT_EQ(q.state.ready_count(), 0u);
}

TEST(QueueConsumers, EqualPriorityConsumersShareRoundRobin) {
    harness q;
    q.consume(1);
    q.consume(2);
    std::vector<uint64_t> to;
    for (int i = 0; i < 4; ++i) {
        q.publish();
        to.push_back(effects_of<deliver>(q.last)[0].consumer.value);
    }
    EXPECT_EQ(to, (std::vector<uint64_t>{1, 2, 1, 2}));
}

TEST(QueueConsumers, HigherPriorityConsumerServedFirstWhileItHasCapacity) {
    harness q;
    q.consume(1, 0, 0);
    q.consume(2, 2, 10);
    std::vector<uint64_t> to;
    for (int i = 0; i < 4; ++i) {
        q.publish();
        to.push_back(effects_of<deliver>(q.last)[0].consumer.value);
    }
    EXPECT_EQ(to, (std::vector<uint64_t>{2, 2, 1, 1}));
}

TEST(QueueConsumers, ExclusiveConsumerExcludesOthers) {
    harness q;
    q.consume(1);
    auto r = q.run(checkout{consumer_id(2), owner_id(2), 0, 0, true});
    EXPECT_EQ(std::get<status_reply>(r.r).code, status::exclusive_conflict);
    q.run(cancel{consumer_id(1)});
    r = q.run(checkout{consumer_id(2), owner_id(2), 0, 0, true});
    EXPECT_EQ(std::get<status_reply>(r.r).code, status::ok);
    EXPECT_EQ(std::get<status_reply>(q.consume(3).r).code, status::exclusive_conflict);
    EXPECT_EQ(std::get<status_reply>(q.consume(2).r).code, status::consumer_exists);
}

TEST(QueueReturns, ReturnedMessagesGoBackToTheHeadInOriginalOrder) {
    harness q;
    auto a = q.publish();
    auto b = q.publish();
    auto c = q.publish();
    q.consume(1, 2);  // a and b out
    q.run(cancel{consumer_id(1)});
    auto r = q.requeue(1, {b, a});
    EXPECT_EQ(std::get<count_reply>(r.r).count, 2u);
    auto d = q.consume(2);
    auto out = effects_of<deliver>(d);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].ref, a);
    EXPECT_EQ(out[1].ref, b);
    EXPECT_EQ(out[2].ref, c);
    EXPECT_TRUE(out[0].redelivered);
    EXPECT_EQ(out[0].delivery_count, 1u);
    EXPECT_FALSE(out[2].redelivered);
    EXPECT_FALSE(q.state.has_consumer(consumer_id(1)));  // cancelled and empty: gone
}

TEST(QueueReturns, DeliveryLimitExactlyReachedIsStillDeliveredOneMoreIsDeadLettered) {
    queue_config cfg;
    cfg.delivery_limit = 2;
    cfg.dead_letter = dead_letter_strategy::at_most_once;
    harness q(cfg);
    auto a = q.publish();
    q.consume(1, 1);
    auto r1 = q.requeue(1, {a});  // count 1
    EXPECT_EQ(effects_of<deliver>(r1)[0].delivery_count, 1u);
    auto r2 = q.requeue(1, {a});  // count 2 == limit: still delivered
    ASSERT_EQ(effects_of<deliver>(r2).size(), 1u);
    EXPECT_EQ(effects_of<deliver>(r2)[0].delivery_count, 2u);
    auto r3 = q.requeue(1, {a});  // count 3 > limit: poison
    EXPECT_TRUE(effects_of<deliver>(r3).empty());
    auto dl = effects_of<dead_letter>(r3);
    ASSERT_EQ(dl.size(), 1u);
    EXPECT_EQ(dl[0], (dead_letter{a, dead_letter_reason::delivery_limit, 3}));
    EXPECT_EQ(q.state.live_count(), 0u);
}

TEST(QueueReturns, RequeueOfMessageWhoseConsumerIsGoneIsIgnoredAndMessageRedelivered) {
    harness q;
    auto a = q.publish();
    q.consume(1, 0, 0, /*owner=*/5);
    auto d = q.run(down{owner_id(5), down_kind::closed});
    EXPECT_EQ(std::get<count_reply>(d.r).count, 1u);
    EXPECT_EQ(q.state.ready_count(), 1u);
    // The channel's late nack and ack find nothing: the message is already back.
    EXPECT_EQ(std::get<count_reply>(q.requeue(1, {a}).r).code, status::unknown_consumer);
    EXPECT_EQ(std::get<count_reply>(q.ack(1, {a}).r).code, status::unknown_consumer);
    auto r = q.consume(2);
    ASSERT_EQ(effects_of<deliver>(r).size(), 1u);
    EXPECT_EQ(effects_of<deliver>(r)[0], (deliver{consumer_id(2), a, 1, true}));
}

TEST(QueueReturns, UnreachableConsumerStopsAndResumesOnUp) {
    harness q;
    q.consume(1, 0, 0, 5);
    auto a = q.publish();
    q.run(down{owner_id(5), down_kind::unreachable});
    EXPECT_EQ(q.state.ready_count(), 1u);
    EXPECT_EQ(q.state.consumer_count(), 1u);
    q.publish();
    EXPECT_TRUE(effects_of<deliver>(q.last).empty());
    auto r = q.run(up{owner_id(5)});
    auto out = delivered_refs(r);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], a);
}

TEST(QueueDeadLetter, RejectWithoutDlxDropsWithAtMostOnceEmits) {
    harness plain;
    auto a = plain.publish();
    plain.consume(1);
    EXPECT_EQ(dropped_refs(plain.reject(1, {a}), drop_reason::rejected), refs({a}));

    queue_config cfg;
    cfg.dead_letter = dead_letter_strategy::at_most_once;
    harness q(cfg);
    auto b = q.publish();
    q.consume(1);
    auto r = q.reject(1, {b});
    EXPECT_EQ(effects_of<dead_letter>(r)[0], (dead_letter{b, dead_letter_reason::rejected, 0}));
    EXPECT_EQ(q.state.live_count(), 0u);
}

TEST(QueueDeadLetter, AtLeastOnceKeepsTheMessageUntilTheTargetConfirms) {
    queue_config cfg;
    cfg.dead_letter = dead_letter_strategy::at_least_once;
    harness q(cfg);
    auto a = q.publish();
    q.consume(1);
    auto r = q.reject(1, {a});
    ASSERT_EQ(effects_of<dead_letter>(r).size(), 1u);
    EXPECT_EQ(q.state.dlx_pending_count(), 1u);
    EXPECT_EQ(q.state.live_count(), 1u);
    // A new leader re-emits it.
    auto again = leader_effects(q.state);
    bool found = false;
    for (const auto& e : again) {
        if (const auto* d = std::get_if<dead_letter>(&e))
            found = d->ref == a;
    }
    EXPECT_TRUE(found);
    auto s = q.run(dlx_settle{{a, message_ref(12345)}});
    EXPECT_EQ(std::get<count_reply>(s.r).count, 1u);
    EXPECT_EQ(q.state.live_count(), 0u);
}

TEST(QueueOverflow, DropHeadDeadLettersTheOldest) {
    queue_config cfg;
    cfg.max_length = 2;
    cfg.dead_letter = dead_letter_strategy::at_most_once;
    harness q(cfg);
    auto a = q.publish();
    q.publish();
    q.publish();
    auto dl = effects_of<dead_letter>(q.last);
    ASSERT_EQ(dl.size(), 1u);
    EXPECT_EQ(dl[0], (dead_letter{a, dead_letter_reason::maxlen, 0}));
    EXPECT_EQ(q.state.ready_count(), 2u);
}

TEST(QueueOverflow, MaxLengthBytesCountsReadyBodies) {
    queue_config cfg;
    cfg.max_length_bytes = 100;
    harness q(cfg);
    auto a = q.publish(60);
    q.publish(30);
    EXPECT_TRUE(q.last.effects.empty());
    q.publish(20);  // 110 > 100: head goes
    EXPECT_EQ(dropped_refs(q.last, drop_reason::maxlen), refs({a}));
    EXPECT_EQ(q.state.ready_bytes(), 50u);
}

TEST(QueueOverflow, RejectPublishNacksThePublisher) {
    queue_config cfg;
    cfg.max_length = 1;
    cfg.overflow = overflow_policy::reject_publish;
    harness q(cfg);
    q.run(enqueue{owner_id(3), 1, 0, 1, 0, {}});
    auto r = q.run(enqueue{owner_id(3), 2, 0, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(r.r).outcome, enqueue_outcome::rejected);
    EXPECT_EQ(effects_of<confirm>(r)[0], (confirm{owner_id(3), 2, enqueue_outcome::rejected}));
    EXPECT_EQ(q.state.ready_count(), 1u);
    EXPECT_TRUE(effects_of<dead_letter>(r).empty());
    // Unacked messages do not count: with the one message out, publishing works.
    q.consume(1);
    r = q.run(enqueue{owner_id(3), 3, 0, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(r.r).outcome, enqueue_outcome::accepted);
}

TEST(QueueOverflow, RejectPublishDlxAlsoDeadLetters) {
    queue_config cfg;
    cfg.max_length = 0;
    cfg.overflow = overflow_policy::reject_publish_dlx;
    cfg.dead_letter = dead_letter_strategy::at_most_once;
    harness q(cfg);
    auto a = q.publish();
    EXPECT_EQ(std::get<enqueue_reply>(q.last.r).outcome, enqueue_outcome::rejected);
    EXPECT_EQ(effects_of<dead_letter>(q.last)[0], (dead_letter{a, dead_letter_reason::maxlen, 0}));
    EXPECT_EQ(q.state.live_count(), 0u);
}

TEST(QueueOverflow, DropHeadWithPrioritiesDropsTheNextToDeliver) {
    queue_config cfg;
    cfg.max_length = 2;
    cfg.max_priority = 5;
    harness q(cfg);
    auto low = q.publish(1, 0);
    auto high = q.publish(1, 5);
    q.publish(1, 1);
    // The head is the message that would be delivered next: the high one.
    EXPECT_EQ(dropped_refs(q.last, drop_reason::maxlen), refs({high}));
    auto r = q.consume(1);
    auto out = delivered_refs(r);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1], low);
}

TEST(QueueOverflow, MaxLengthZeroPassesStraightToAWaitingConsumer) {
    queue_config cfg;
    cfg.max_length = 0;
    harness q(cfg);
    q.consume(1);
    auto a = q.publish();
    EXPECT_EQ(delivered_refs(q.last), refs({a}));
    q.run(cancel{consumer_id(1)});
    auto b = q.publish();
    EXPECT_EQ(dropped_refs(q.last, drop_reason::maxlen), refs({b}));
}

TEST(QueuePriorities, HigherPriorityFirstFifoWithinALevel) {
    queue_config cfg;
    cfg.max_priority = 3;
    harness q(cfg);
    auto a = q.publish(1, 0);
    auto b = q.publish(1, 3);
    auto c = q.publish(1, 9);  // clamped to 3
    auto d = q.publish(1, 1);
    EXPECT_EQ(delivered_refs(q.consume(1)), refs({b, c, d, a}));
}

TEST(QueuePriorities, WithoutMaxPriorityPriorityIsIgnored) {
    harness q;
    auto a = q.publish(1, 0);
    auto b = q.publish(1, 9);
    EXPECT_EQ(delivered_refs(q.consume(1)), refs({a, b}));
}

TEST(QueueTtl, QueueTtlExpiresByLeaderTimeAndAsksForATimer) {
    queue_config cfg;
    cfg.message_ttl_ms = 100;
    harness q(cfg);
    auto a = q.publish();
    auto t = effects_of<timer>(q.last);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].at_ms, 1'000u + 100 + 1);
    EXPECT_TRUE(q.advance(100).effects.empty());  // at the deadline: still alive
    auto r = q.advance(1);
    EXPECT_EQ(dropped_refs(r, drop_reason::expired), refs({a}));
    EXPECT_EQ(effects_of<timer>(r)[0].at_ms, time_never_ms);
}

TEST(QueueTtl, PerMessageExpirationTakesTheSmallerTtl) {
    queue_config cfg;
    cfg.message_ttl_ms = 100;
    cfg.dead_letter = dead_letter_strategy::at_most_once;
    harness q(cfg);
    auto a = q.publish(1, 0, 10);
    auto b = q.publish(1, 0, 1000);
    auto r = q.advance(11);
    EXPECT_EQ(effects_of<dead_letter>(r)[0], (dead_letter{a, dead_letter_reason::expired, 0}));
    r = q.advance(100);
    EXPECT_EQ(effects_of<dead_letter>(r)[0].ref, b);
}

TEST(QueueTtl, ExpiryIsCheckedAtTheHeadOnly) {
    harness q;
    auto a = q.publish(1, 0, 1000);
    auto b = q.publish(1, 0, 10);
    EXPECT_TRUE(dropped_refs(q.advance(50), drop_reason::expired).empty());
    // b reaches the head when a is taken, and is expired there, not delivered.
    auto r = q.run(dequeue{consumer_id(1), owner_id(1), true});
    EXPECT_EQ(std::get<dequeue_reply>(r.r).ref, a);
    EXPECT_EQ(dropped_refs(r, drop_reason::expired), refs({b}));
}

TEST(QueueTtl, DeliveredButUnackedDoesNotExpireUntilReturned) {
    queue_config cfg;
    cfg.message_ttl_ms = 100;
    harness q(cfg);
    auto a = q.publish();
    q.consume(1);
    EXPECT_TRUE(q.advance(500).effects.empty());
    EXPECT_EQ(q.state.unacked_count(), 1u);
    auto r = q.requeue(1, {a});
    EXPECT_EQ(dropped_refs(r, drop_reason::expired), refs({a}));
    EXPECT_TRUE(effects_of<deliver>(r).empty());
}

TEST(QueueExpires, UnusedQueueDeletesItself) {
    queue_config cfg;
    cfg.expires_ms = 1000;
    harness q(cfg);
    q.publish();
    EXPECT_EQ(effects_of<timer>(q.last)[0].at_ms, 1'000u + 1000 + 1);
    q.advance(600);
    q.run(touch{});  // redeclare resets the timer
    EXPECT_TRUE(effects_of<queue_expired>(q.advance(600)).empty());
    auto r = q.advance(401);
    EXPECT_EQ(effects_of<queue_expired>(r).size(), 1u);
    EXPECT_EQ(dropped_refs(r, drop_reason::queue_deleted).size(), 1u);
    EXPECT_TRUE(q.state.is_deleted());
    auto p = q.run(enqueue{owner_id(1), 9, 0, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(p.r).outcome, enqueue_outcome::queue_deleted);
}

TEST(QueueExpires, AConsumerKeepsTheQueueAlive) {
    queue_config cfg;
    cfg.expires_ms = 1000;
    harness q(cfg);
    q.consume(1);
    EXPECT_FALSE(q.advance(5000).effects.size() && q.state.is_deleted());
    EXPECT_FALSE(q.state.is_deleted());
    q.run(cancel{consumer_id(1)});  // the clock starts now
    q.advance(1000);
    EXPECT_FALSE(q.state.is_deleted());
    q.advance(1);
    EXPECT_TRUE(q.state.is_deleted());
}

TEST(QueueSingleActive, OnlyTheFirstConsumerReceives) {
    queue_config cfg;
    cfg.single_active_consumer = true;
    harness q(cfg);
    auto r = q.consume(1);
    EXPECT_EQ(effects_of<consumer_activated>(r)[0].consumer, consumer_id(1));
    q.consume(2);
    for (int i = 0; i < 3; ++i) {
        q.publish();
        EXPECT_EQ(effects_of<deliver>(q.last)[0].consumer, consumer_id(1));
    }
    EXPECT_EQ(q.state.active_consumer(), consumer_id(1));
}

TEST(QueueSingleActive, HandOverWaitsForTheUnackedMessagesOfTheCancelledConsumer) {
    queue_config cfg;
    cfg.single_active_consumer = true;
    harness q(cfg);
    q.consume(1, 2);
    q.consume(2);
    auto a = q.publish();
    auto b = q.publish();
    auto c = q.publish();
    q.run(cancel{consumer_id(1)});
    // Consumer 1 still holds a and b: nobody gets c yet.
    EXPECT_EQ(q.state.active_consumer(), consumer_id(1));
    q.publish();
    EXPECT_TRUE(effects_of<deliver>(q.last).empty());
    q.ack(1, {a});
    EXPECT_TRUE(effects_of<deliver>(q.last).empty());
    auto r = q.requeue(1, {b});
    // Hand-over: consumer 2 starts with b (back at the head), then c.
    EXPECT_EQ(effects_of<consumer_activated>(r)[0].consumer, consumer_id(2));
    auto out = delivered_refs(r);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0], b);
    EXPECT_EQ(out[1], c);
}

TEST(QueueSingleActive, DownHandsOverAtOnceWithMessagesBackAtTheHead) {
    queue_config cfg;
    cfg.single_active_consumer = true;
    harness q(cfg);
    q.consume(1, 0, 0, 10);
    q.consume(2, 0, 0, 20);
    auto a = q.publish();
    auto r = q.run(down{owner_id(10), down_kind::closed});
    EXPECT_EQ(q.state.active_consumer(), consumer_id(2));
    EXPECT_EQ(effects_of<deliver>(r)[0], (deliver{consumer_id(2), a, 1, true}));
}

TEST(QueueSingleActive, HigherPriorityConsumerTakesOverCleanly) {
    queue_config cfg;
    cfg.single_active_consumer = true;
    harness q(cfg);
    q.consume(1, 1);
    auto a = q.publish();
    q.consume(2, 0, 5);  // better, but 1 still holds a
    EXPECT_EQ(q.state.active_consumer(), consumer_id(1));
    auto b = q.publish();
    EXPECT_TRUE(effects_of<deliver>(q.last).empty());
    auto r = q.ack(1, {a});
    EXPECT_EQ(q.state.active_consumer(), consumer_id(2));
    EXPECT_EQ(delivered_refs(r), refs({b}));
}

TEST(QueueDedup, SameSequenceFromTheSamePublisherIsADuplicate) {
    harness q;
    q.run(enqueue{owner_id(4), 1, 0, 1, 0, {}});
    auto r = q.run(enqueue{owner_id(4), 1, 0, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(r.r).outcome, enqueue_outcome::duplicate);
    EXPECT_EQ(effects_of<confirm>(r)[0].outcome, enqueue_outcome::duplicate);
    // Another publisher's seq 1 is its own.
    r = q.run(enqueue{owner_id(5), 1, 0, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(r.r).outcome, enqueue_outcome::accepted);
    EXPECT_EQ(q.state.ready_count(), 2u);
    // A closed channel's sequence is forgotten.
    q.run(down{owner_id(4), down_kind::closed});
    r = q.run(enqueue{owner_id(4), 1, 0, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(r.r).outcome, enqueue_outcome::accepted);
}

TEST(QueueDedup, MessageIdKeyWithinTheWindowIsADuplicate) {
    queue_config cfg;
    cfg.dedup_window_ms = 1000;
    harness q(cfg);
    auto first = q.run(enqueue{owner_id(1), 0, 42, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(first.r).outcome, enqueue_outcome::accepted);
    q.now_ms += 1000;
    auto second = q.run(enqueue{owner_id(2), 0, 42, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(second.r).outcome, enqueue_outcome::duplicate);
    q.now_ms += 1;
    auto third = q.run(enqueue{owner_id(2), 0, 42, 1, 0, {}});
    EXPECT_EQ(std::get<enqueue_reply>(third.r).outcome, enqueue_outcome::accepted);
    EXPECT_EQ(q.state.ready_count(), 2u);
}

TEST(QueueGet, GetOkCountsRemainingAndAckLater) {
    harness q;
    auto a = q.publish();
    q.publish();
    auto r = q.run(dequeue{consumer_id(50), owner_id(1), false});
    auto g = std::get<dequeue_reply>(r.r);
    EXPECT_EQ(g.code, status::ok);
    EXPECT_EQ(g.ref, a);
    EXPECT_EQ(g.message_count, 1u);
    EXPECT_EQ(q.state.unacked_count(), 1u);
    EXPECT_EQ(q.state.consumer_count(), 0u);  // a get is not a consumer
    EXPECT_EQ(std::get<count_reply>(q.ack(50, {a}).r).count, 1u);
    EXPECT_FALSE(q.state.has_consumer(consumer_id(50)));
    q.run(dequeue{consumer_id(50), owner_id(1), true});
    EXPECT_EQ(std::get<dequeue_reply>(q.run(dequeue{consumer_id(50), owner_id(1), true}).r).code,
              status::empty);
}

TEST(QueueGet, UnackedGetReturnsWhenTheChannelCloses) {
    harness q;
    auto a = q.publish();
    q.run(dequeue{consumer_id(50), owner_id(8), false});
    q.run(down{owner_id(8), down_kind::closed});
    auto g = std::get<dequeue_reply>(q.run(dequeue{consumer_id(51), owner_id(9), true}).r);
    EXPECT_EQ(g.ref, a);
    EXPECT_TRUE(g.redelivered);
}

TEST(QueuePurge, PurgeDropsReadyAndLeavesUnackedToTheirConsumer) {
    harness q;
    auto a = q.publish();
    auto b = q.publish();
    auto c = q.publish();
    q.consume(1, 1);  // a out
    auto r = q.run(purge{});
    EXPECT_EQ(std::get<counts_reply>(r.r).message_count, 2u);
    EXPECT_EQ(dropped_refs(r, drop_reason::purged), refs({b, c}));
    EXPECT_EQ(q.state.unacked_count(), 1u);
    // Returning a after the purge puts it back; it is the only message.
    auto back = q.requeue(1, {a});
    EXPECT_EQ(delivered_refs(back), refs({a}));
}

TEST(QueueDelete, DeleteCancelsConsumersAndDropsEverything) {
    harness q;
    q.publish();
    q.publish();
    q.consume(1, 1);
    auto pre = q.run(delete_queue{true, false});
    EXPECT_EQ(std::get<counts_reply>(pre.r).code, status::precondition_failed);
    pre = q.run(delete_queue{false, true});
    EXPECT_EQ(std::get<counts_reply>(pre.r).code, status::precondition_failed);
    auto r = q.run(delete_queue{});
    EXPECT_EQ(std::get<counts_reply>(r.r).message_count, 1u);
    EXPECT_EQ(effects_of<consumer_cancelled>(r)[0].consumer, consumer_id(1));
    EXPECT_EQ(dropped_refs(r, drop_reason::queue_deleted).size(), 2u);
    EXPECT_TRUE(q.state.is_deleted());
    EXPECT_EQ(q.state.live_count(), 0u);
    EXPECT_EQ(std::get<status_reply>(q.consume(2).r).code, status::queue_deleted);
}

TEST(QueueRelease, ReleaseCursorListsTheOldLiveMessageNotTheLogBehindIt) {
    queue_config cfg;
    cfg.release_cursor_interval = 8;
    harness q(cfg);
    q.consume(1);
    auto old = q.publish();  // stays unacked
    std::vector<release_cursor> seen;
    for (int i = 0; i < 12; ++i) {
        auto m = q.publish();
        auto ack = q.ack(1, {m});
        for (auto& rc : effects_of<release_cursor>(q.last))
            seen.push_back(rc);
        for (auto& rc : effects_of<release_cursor>(ack))
            seen.push_back(rc);
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().live, refs({old}));
    EXPECT_FALSE(seen.back().truncated);
    EXPECT_GT(seen.back().snapshot_index.value, old.value + 10);
}

TEST(QueueTime, LeaderTimeGoingBackwardsDoesNotRewindTheMachine) {
    queue_config cfg;
    cfg.message_ttl_ms = 100;
    harness q(cfg);
    q.now_ms = 5'000;
    q.run(tick{});
    q.now_ms = 1'000;  // a new leader with a slow clock
    auto a = q.publish();
    q.now_ms = 5'050;
    EXPECT_TRUE(dropped_refs(q.run(tick{}), drop_reason::expired).empty());
    q.now_ms = 5'101;
    EXPECT_EQ(dropped_refs(q.run(tick{}), drop_reason::expired), refs({a}));
}

TEST(QueueLeader, LeaderEffectsRedeliverWhatIsCheckedOut) {
    harness q;
    auto a = q.publish();
    q.consume(1);
    auto e = leader_effects(q.state);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(std::get<deliver>(e[0]), (deliver{consumer_id(1), a, 0, false}));
}

}  // namespace
}  // namespace qmq::queue

namespace qmq::queue {
namespace {

TEST(QueueDescribe, CommandsEffectsAndRepliesReadAsOneLine) {
    EXPECT_EQ(describe(command{settle{consumer_id(3), {message_ref(7), message_ref(9)}}}),
              "settle consumer=3 refs=[7 9]");
    EXPECT_EQ(describe(effect{deliver{consumer_id(1), message_ref(5), 2, true}}),
              "deliver consumer=1 ref=5 count=2 redelivered");
    EXPECT_EQ(describe(effect{timer{}}), "timer at=never");
    EXPECT_EQ(describe(reply{count_reply{status::ok, 4}}), "ok count=4");
    EXPECT_EQ(describe(std::vector<effect>{queue_expired{},
                                           dropped{drop_reason::purged, {message_ref(1)}}}),
              "queue_expired; dropped purged [1]");
}

}  // namespace
}  // namespace qmq::queue

namespace qmq::queue {
namespace {

using testing::dropped_refs;
using testing::effects_of;
using testing::harness;

TEST(QueueErrors, UnknownConsumersAndIdClashesAreRefused) {
    harness q;
    EXPECT_EQ(std::get<status_reply>(q.run(cancel{consumer_id(1)}).r).code,
              status::unknown_consumer);
    EXPECT_EQ(std::get<status_reply>(q.run(credit{consumer_id(1), 5}).r).code,
              status::unknown_consumer);
    q.consume(1);
    EXPECT_EQ(std::get<status_reply>(q.run(cancel{consumer_id(1)}).r).code, status::ok);
    EXPECT_EQ(std::get<status_reply>(q.run(cancel{consumer_id(1)}).r).code,
              status::unknown_consumer);
    q.consume(2);
    // A consume id cannot be used for basic.get, nor a get id for basic.consume.
    EXPECT_EQ(std::get<dequeue_reply>(q.run(dequeue{consumer_id(2), owner_id(1), false}).r).code,
              status::consumer_exists);
    q.run(cancel{consumer_id(2)});
    q.publish();
    q.run(dequeue{consumer_id(3), owner_id(1), false});
    EXPECT_EQ(std::get<status_reply>(q.consume(3).r).code, status::consumer_exists);
}

TEST(QueueErrors, TouchAnswersDeclareOkCounts) {
    harness q;
    q.publish();
    q.publish();
    q.consume(1, 1);
    auto r = std::get<counts_reply>(q.run(touch{}).r);
    EXPECT_EQ(r.message_count, 1u);
    EXPECT_EQ(r.consumer_count, 1u);
}

TEST(QueueDeadLetter, DeleteDropsAtLeastOncePendingMessagesToo) {
    queue_config cfg;
    cfg.dead_letter = dead_letter_strategy::at_least_once;
    harness q(cfg);
    auto a = q.publish();
    q.consume(1);
    q.reject(1, {a});
    auto r = q.run(delete_queue{});
    EXPECT_EQ(dropped_refs(r, drop_reason::queue_deleted), std::vector<message_ref>{a});
    EXPECT_EQ(q.state.live_count(), 0u);
}

TEST(QueueExpires, TheCommandThatFindsTheQueueExpiredIsAnsweredDeleted) {
    queue_config cfg;
    cfg.expires_ms = 10;
    harness q(cfg);
    q.now_ms += 11;  // no tick arrived in time
    auto r = q.consume(1);
    EXPECT_EQ(std::get<status_reply>(r.r).code, status::queue_deleted);
    EXPECT_EQ(effects_of<queue_expired>(r).size(), 1u);
}

TEST(QueueLeader, LeaderEffectsCoverActiveConsumerDeadLettersAndTimer) {
    queue_config cfg;
    cfg.single_active_consumer = true;
    cfg.dead_letter = dead_letter_strategy::at_least_once;
    cfg.message_ttl_ms = 1000;
    harness q(cfg);
    q.consume(1, 1);
    auto a = q.publish();
    auto b = q.publish();
    q.reject(1, {a});  // a pending dead-letter; b delivered next
    auto e = leader_effects(q.state);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(std::get<consumer_activated>(e[0]).consumer, consumer_id(1));
    EXPECT_EQ(std::get<deliver>(e[1]).ref, b);
    EXPECT_EQ(std::get<dead_letter>(e[2]).ref, a);
    q.publish();  // waits: prefetch 1, and expires at a known time
    e = leader_effects(q.state);
    ASSERT_TRUE(std::holds_alternative<timer>(e.back()));
    EXPECT_EQ(std::get<timer>(e.back()).at_ms, q.now_ms + 1000 + 1);
}

}  // namespace
}  // namespace qmq::queue

namespace qmq::queue {
namespace {

using testing::effects_of;
using testing::harness;

TEST(QueueDeadLetter, AtLeastOnceInFlightIsBoundedOldestFirst) {
    queue_config cfg;
    cfg.dead_letter = dead_letter_strategy::at_least_once;
    cfg.dlx_in_flight_max = 2;
    cfg.message_ttl_ms = 10;
    harness q(cfg);
    std::vector<message_ref> m;
    for (int i = 0; i < 5; ++i)
        m.push_back(q.publish());
    auto wave = q.advance(11);  // all five expire
    auto first = effects_of<dead_letter>(wave);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].ref, m[0]);
    EXPECT_EQ(first[1].ref, m[1]);
    EXPECT_EQ(q.state.dlx_pending_count(), 5u);
    // A new leader re-announces only what was announced.
    int announced = 0;
    for (const auto& e : leader_effects(q.state))
        announced += std::holds_alternative<dead_letter>(e);
    EXPECT_EQ(announced, 2);
    auto next = effects_of<dead_letter>(q.run(dlx_settle{{m[1]}}));
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0], (dead_letter{m[2], dead_letter_reason::expired, 0}));
    // Settling a waiting one directly (a resend after failover) is fine too.
    auto r = q.run(dlx_settle{{m[4], m[0], m[2]}});
    EXPECT_EQ(std::get<count_reply>(r.r).count, 3u);
    ASSERT_EQ(effects_of<dead_letter>(r).size(), 1u);
    EXPECT_EQ(effects_of<dead_letter>(r)[0].ref, m[3]);
}

}  // namespace
}  // namespace qmq::queue
