#include "loadgen/verify.h"

#include <gtest/gtest.h>

#include <set>

#include "loadgen/message.h"
#include "loadgen/topology.h"

namespace qmq::bench {
namespace {

TEST(Stamp, RoundTripsAndRejectsForeignBodies) {
    std::vector<uint8_t> body(64, 0xAB);
    const stamp s{0x1122334455667788ull, 7, 123456789012ull, 987654321ull};
    write_stamp(body, s);
    const auto back = read_stamp(body);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->run_id, s.run_id);
    EXPECT_EQ(back->producer, s.producer);
    EXPECT_EQ(back->seq, s.seq);
    EXPECT_EQ(back->sent_ns, s.sent_ns);
    EXPECT_EQ(body[stamp_size], 0xAB);  // filler untouched
    body[0] ^= 1;
    EXPECT_FALSE(read_stamp(body).has_value());
    EXPECT_FALSE(read_stamp(std::span<const uint8_t>(body.data(), stamp_size - 1)).has_value());
}

TEST(Topology, ShareSpreadsWorkersOverItems) {
    EXPECT_EQ(share_of(0, 4, 1), (std::vector<uint32_t>{0}));
    EXPECT_EQ(share_of(3, 4, 1), (std::vector<uint32_t>{0}));
    EXPECT_EQ(share_of(5, 10, 4), (std::vector<uint32_t>{1}));
    EXPECT_EQ(share_of(1, 3, 10), (std::vector<uint32_t>{1, 4, 7}));
    // Fewer workers than items: every item has exactly one worker.
    std::multiset<uint32_t> all;
    for (uint32_t w = 0; w < 100; ++w) {
        for (uint32_t q : share_of(w, 100, 1000)) {
            all.insert(q);
        }
    }
    EXPECT_EQ(all.size(), 1000u);
    EXPECT_EQ(std::set<uint32_t>(all.begin(), all.end()).size(), 1000u);
}

TEST(Topology, DefaultExchangeRoutesByQueueName) {
    options o;
    o.producers = 2;
    o.consumers = 2;
    o.queues = 4;
    const topology t = make_topology(o);
    ASSERT_EQ(t.queue_names.size(), 4u);
    EXPECT_EQ(t.queue_names[3], "qmq-bench-3");
    EXPECT_TRUE(t.exchange.empty());
    // Producer 1 cycles over queues 1 and 3.
    EXPECT_EQ(t.route_of(1, 1).routing_key, "qmq-bench-1");
    EXPECT_EQ(t.route_of(1, 2).routing_key, "qmq-bench-3");
    EXPECT_EQ(t.route_of(1, 3).queues, (std::vector<uint32_t>{1}));
    EXPECT_EQ(t.consumer_queues[0], (std::vector<uint32_t>{0, 2}));
}

TEST(Topology, FanoutReachesEveryQueue) {
    options o;
    o.queues = 10;
    o.exchange = "fx";
    o.exchange_type = exchange_kind::fanout;
    const topology t = make_topology(o);
    EXPECT_EQ(t.route_of(0, 5).queues.size(), 10u);
    EXPECT_EQ(t.binding_keys.size(), 10u);
}

// A run of 3 queues, 1 producer publishing 9 messages round-robin.
struct small_run {
    options o;
    topology t;
    std::vector<producer_record> producers;
    consumer_record c;
    small_run() {
        o.queues = 3;
        o.producers = 1;
        o.consumers = 1;
        t = make_topology(o);
        producers.resize(1);
        producers[0].published = 9;
    }
    void consume(uint64_t seq) { c.record(t.route_of(0, seq).queues[0], 0, seq); }
};

TEST(Verify, AllConfirmedAndConsumedIsOk) {
    small_run r;
    for (uint64_t s = 1; s <= 9; ++s) {
        r.producers[0].confirmed.set(s);
        r.consume(s);
    }
    const auto v = verify(r.t, r.producers, {&r.c});
    EXPECT_TRUE(v.ok());
    EXPECT_EQ(v.expected, 9u);
    EXPECT_EQ(v.missing, 0u);
    EXPECT_EQ(v.duplicates, 0u);
    EXPECT_EQ(v.unexpected, 0u);
}

TEST(Verify, AConfirmedMessageNotConsumedIsMissing) {
    small_run r;
    for (uint64_t s = 1; s <= 9; ++s) {
        r.producers[0].confirmed.set(s);
        if (s != 5) {
            r.consume(s);
        }
    }
    const auto v = verify(r.t, r.producers, {&r.c});
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.missing, 1u);
}

TEST(Verify, UnconfirmedLossIsReportedButNotAFailure) {
    small_run r;
    for (uint64_t s = 1; s <= 8; ++s) {
        r.producers[0].confirmed.set(s);
        r.consume(s);
    }
    const auto v = verify(r.t, r.producers, {&r.c});  // seq 9: neither
    EXPECT_TRUE(v.ok());
    EXPECT_EQ(v.unconsumed_unconfirmed, 1u);
}

TEST(Verify, DuplicatesWithinAndAcrossConsumers) {
    small_run r;
    consumer_record other;
    for (uint64_t s = 1; s <= 9; ++s) {
        r.producers[0].confirmed.set(s);
        r.consume(s);
    }
    r.consume(2);                                      // twice to one consumer
    other.record(r.t.route_of(0, 3).queues[0], 0, 3);  // and once to another
    const auto v = verify(r.t, r.producers, {&r.c, &other});
    EXPECT_TRUE(v.ok());
    EXPECT_EQ(v.duplicates, 2u);
}

TEST(Verify, AMessageInTheWrongQueueIsUnexpectedAndStillMissing) {
    small_run r;
    for (uint64_t s = 1; s <= 9; ++s) {
        r.producers[0].confirmed.set(s);
        if (s != 4) {
            r.consume(s);
        }
    }
    const uint32_t right = r.t.route_of(0, 4).queues[0];
    r.c.record((right + 1) % 3, 0, 4);
    const auto v = verify(r.t, r.producers, {&r.c});
    EXPECT_EQ(v.missing, 1u);
    EXPECT_EQ(v.unexpected, 1u);
}

TEST(Verify, FanoutExpectsOneCopyPerQueue) {
    options o;
    o.queues = 3;
    o.consumers = 3;
    o.exchange = "fx";
    o.exchange_type = exchange_kind::fanout;
    const topology t = make_topology(o);
    std::vector<producer_record> producers(1);
    producers[0].published = 4;
    std::vector<consumer_record> cs(3);
    for (uint64_t s = 1; s <= 4; ++s) {
        producers[0].confirmed.set(s);
        for (uint32_t q = 0; q < 3; ++q) {
            if (!(q == 2 && s == 4)) {
                cs[q].record(q, 0, s);
            }
        }
    }
    const auto v = verify(t, producers, {&cs[0], &cs[1], &cs[2]});
    EXPECT_EQ(v.expected, 12u);
    EXPECT_EQ(v.missing, 1u);
}

TEST(Bitset, SetTestMergePopcount) {
    bitset a;
    EXPECT_FALSE(a.set(3));
    EXPECT_TRUE(a.set(3));
    EXPECT_FALSE(a.set(1000));
    EXPECT_TRUE(a.test(1000));
    EXPECT_FALSE(a.test(999));
    EXPECT_FALSE(a.test(1'000'000));
    bitset b;
    b.set(3);
    b.set(70'000);
    EXPECT_EQ(a.merge(b), 1u);
    EXPECT_EQ(a.popcount(), 3u);
}

}  // namespace
}  // namespace qmq::bench
