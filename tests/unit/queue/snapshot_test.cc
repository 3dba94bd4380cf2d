// Snapshot serialisation: round trips, and damaged input refused.

#include "queue/snapshot.h"

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/prng.h"
#include "unit/queue/harness.h"

namespace qmq::queue {
namespace {

using testing::harness;

// A state that touches every part of the format.
harness busy_queue() {
    queue_config cfg;
    cfg.max_priority = 3;
    cfg.message_ttl_ms = 10'000;
    cfg.dead_letter = dead_letter_strategy::at_least_once;
    cfg.dedup_window_ms = 500;
    cfg.delivery_limit = 5;
    cfg.max_length = 1000;
    harness q(cfg);
    q.consume(1, 2, 0, 1);
    q.consume(2, 1, 3, 2);
    for (int i = 0; i < 10; ++i) {
        q.run(enqueue{owner_id(7), uint64_t(i + 1), uint64_t(100 + i), uint32_t(i), uint8_t(i % 4),
                      i % 3 == 0 ? std::optional<uint64_t>(50) : std::nullopt});
    }
    auto held = q.state.checked_out(consumer_id(1));
    q.reject(1, {held[0]});
    q.run(dequeue{consumer_id(9), owner_id(3), false});
    q.run(down{owner_id(2), down_kind::unreachable});
    return q;
}

TEST(QueueSnapshot, RoundTripIsByteEqualAndBehavesTheSame) {
    harness q = busy_queue();
    bytes snap = serialize(q.state);
    auto back = deserialize(snap);
    ASSERT_TRUE(back.ok()) << back.err().message;
    EXPECT_EQ(serialize(*back), snap);
    EXPECT_EQ(back->ready_count(), q.state.ready_count());
    EXPECT_EQ(back->unacked_count(), q.state.unacked_count());
    EXPECT_EQ(back->dlx_pending_count(), 1u);
    EXPECT_EQ(back->consumer_count(), q.state.consumer_count());
    EXPECT_EQ(back->config(), q.state.config());
    // The same next command gives the same result on both.
    queue_state copy = std::move(back.value());
    meta m{log_index(q.index + 1), 1, q.now_ms + 20};
    command c = up{owner_id(2)};
    auto a = apply(m, c, q.state);
    auto b = apply(m, c, copy);
    EXPECT_TRUE(a.effects == b.effects);
    EXPECT_FALSE(a.effects.empty());
    EXPECT_EQ(serialize(q.state), serialize(copy));
}

TEST(QueueSnapshot, EmptyAndDeletedQueuesRoundTrip) {
    harness fresh;
    auto back = deserialize(serialize(fresh.state));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(serialize(*back), serialize(fresh.state));
    fresh.publish();
    fresh.run(delete_queue{});
    auto gone = deserialize(serialize(fresh.state));
    ASSERT_TRUE(gone.ok());
    EXPECT_TRUE(gone->is_deleted());
}

TEST(QueueSnapshot, EveryFlippedByteIsDetected) {
    harness q = busy_queue();
    bytes snap = serialize(q.state);
    for (size_t i = 0; i < snap.size(); ++i) {
        bytes bad = snap;
        bad[i] ^= std::byte{0x40};
        EXPECT_FALSE(deserialize(bad).ok()) << "byte " << i;
    }
}

TEST(QueueSnapshot, TruncatedInputIsRefused) {
    harness q = busy_queue();
    bytes snap = serialize(q.state);
    for (size_t n : {size_t(0), size_t(3), size_t(10), snap.size() / 2, snap.size() - 1}) {
        bytes cut(snap.begin(), snap.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_FALSE(deserialize(cut).ok()) << "length " << n;
    }
}

TEST(QueueSnapshot, UnknownVersionIsRefusedWithAReason) {
    harness q;
    bytes snap = serialize(q.state);
    snap[5] = std::byte{0x63};  // version low byte
    // Re-seal the checksum so only the version is wrong.
    uint32_t crc = crc32c(snap.data(), snap.size() - 4);
    for (int i = 0; i < 4; ++i) {
        snap[snap.size() - 4 + size_t(i)] = std::byte(uint8_t(crc >> (24 - 8 * i)));
    }
    auto r = deserialize(snap);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.err().message.find("version"), std::string::npos) << r.err().message;
}

}  // namespace
}  // namespace qmq::queue

namespace qmq::queue {
namespace {

// Damage that keeps a valid checksum (a buggy writer, not a bad disk) must
// be refused or read, never crash the reader.
TEST(QueueSnapshot, ResealedDamageNeverCrashesTheReader) {
    harness q = busy_queue();
    const bytes snap = serialize(q.state);
    prng rng(42);
    int refused = 0;
    for (int round = 0; round < 3000; ++round) {
        bytes bad = snap;
        uint64_t flips = rng.between(1, 4);
        for (uint64_t i = 0; i < flips; ++i) {
            bad[rng.below(bad.size() - 4)] = std::byte(uint8_t(rng.next()));
        }
        uint32_t crc = crc32c(bad.data(), bad.size() - 4);
        for (int i = 0; i < 4; ++i) {
            bad[bad.size() - 4 + size_t(i)] = std::byte(uint8_t(crc >> (24 - 8 * i)));
        }
        auto r = deserialize(bad);
        refused += !r.ok();
        if (r.ok()) {
            // The encoding is canonical: what is accepted re-encodes to itself.
            EXPECT_EQ(serialize(*r), bad) << "round " << round;
        }
    }
    EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace qmq::queue
