// Compaction and InstallSnapshot in chunks (§7).

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

TEST(Snapshot, AFollowerBehindTheFirstLogIndexGetsTheSnapshotInChunks) {
    options o = test_options();
    o.snapshot_chunk_bytes = 4;
    cluster c(3, o);
    c.elect(1);
    c.isolate(3);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(c.at(1).propose(payload(i)).ok());
    }
    c.stabilize();
    const log_index upto = c.at(1).log().applied();
    ASSERT_GE(upto, li(10));
    auto data = std::make_shared<const bytes>(payload(0xABCDEF0123456789ull));  // 8 bytes: 2 chunks
    c.at(1).compact(upto, data);
    EXPECT_EQ(c.at(1).log().snap_index(), upto);
    c.heal();
    for (int i = 0; i < 20; ++i) {
        c.tick(1);
        c.stabilize();
    }
    const int chunks = c.delivered[message_type::snapshot];
    ASSERT_EQ(c.snapshots_loaded[n(3)].size(), 1u);
    EXPECT_EQ(c.snapshots_loaded[n(3)].front(), upto);
    EXPECT_GE(chunks, 2);
    EXPECT_EQ(c.at(3).log().last_index(), c.at(1).log().last_index());
    EXPECT_EQ(c.at(3).log().committed(), c.at(1).log().committed());
}

TEST(Snapshot, CompactionNeedsADurableAppliedIndex) {
    cluster c(1);
    c.elect(1);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    c.stabilize();
    const log_index applied = c.at(1).log().applied();
    c.at(1).compact(applied, std::make_shared<const bytes>(payload(1)));
    EXPECT_EQ(c.at(1).log().first_index(), applied.next());
    EXPECT_EQ(c.at(1).log().term_at(applied), c.at(1).term());
}

TEST(Snapshot, TheLeaderKeepsReplicatingAfterCompaction) {
    cluster c(3);
    c.elect(1);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    c.stabilize();
    c.at(1).compact(c.at(1).log().applied(), std::make_shared<const bytes>(payload(1)));
    ASSERT_TRUE(c.at(1).propose(payload(2)).ok());
    c.stabilize();
    EXPECT_EQ(c.at(2).log().last_index(), c.at(1).log().last_index());
    EXPECT_TRUE(c.snapshots_loaded[n(2)].empty());  // it had the entries: no snapshot
}

}  // namespace
}  // namespace qmq::raft::test
