// Per-follower flow control: inflight bounds and probe/replicate states.

#include "raft/progress.h"

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

TEST(Inflights, AreBoundedByCountAndByBytes) {
    inflights by_count(2, 1'000'000);
    by_count.add(li(1), 10);
    EXPECT_FALSE(by_count.full());
    by_count.add(li(2), 10);
    EXPECT_TRUE(by_count.full());
    by_count.free_le(li(1));
    EXPECT_FALSE(by_count.full());

    inflights by_bytes(100, 50);
    by_bytes.add(li(1), 30);
    EXPECT_FALSE(by_bytes.full());
    by_bytes.add(li(2), 30);
    EXPECT_TRUE(by_bytes.full());
    by_bytes.free_le(li(2));
    EXPECT_EQ(by_bytes.bytes_in_flight(), 0u);
}

TEST(Progress, ProbeSendsOneAppendAtATime) {
    progress p(li(5), 8, 1 << 20);
    EXPECT_FALSE(p.paused());
    p.sent_entries(li(7), 100);
    EXPECT_TRUE(p.paused());
    EXPECT_TRUE(p.maybe_update(li(7)));
    EXPECT_FALSE(p.paused());
}

TEST(Progress, ReplicateStreamsUntilTheInflightLimit) {
    progress p(li(1), 2, 1 << 20);
    p.become_replicate();
    p.sent_entries(li(3), 10);
    EXPECT_EQ(p.next, li(4));
    EXPECT_FALSE(p.paused());
    p.sent_entries(li(6), 10);
    EXPECT_TRUE(p.paused());
}

TEST(Progress, StaleRejectionIsIgnored) {
    progress p(li(1), 8, 1 << 20);
    p.become_replicate();
    p.maybe_update(li(10));
    EXPECT_FALSE(p.maybe_decr_to(li(9), li(3)));  // rejects an index already matched
    EXPECT_TRUE(p.maybe_decr_to(li(12), li(3)));
    EXPECT_EQ(p.next, li(11));
}

TEST(Progress, ProbeBacktracksToTheHintButNotBelowMatch) {
    progress p(li(21), 8, 1 << 20);
    p.maybe_update(li(4));
    p.next = li(21);
    EXPECT_TRUE(p.maybe_decr_to(li(20), li(2)));
    EXPECT_EQ(p.next, li(5));
    EXPECT_FALSE(p.maybe_decr_to(li(20), li(2)));  // answer to an older probe
}

}  // namespace
}  // namespace qmq::raft::test
