// ReadIndex (thesis §6.4) and leadership transfer (thesis §3.10).

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

TEST(ReadIndex, AReadIsAnsweredOnlyAfterAHeartbeatQuorumConfirmsLeadership) {
    cluster c(3);
    c.elect(1);
    c.at(1).read_index(77);
    c.collect_all();
    EXPECT_TRUE(c.reads[n(1)].empty());
    EXPECT_EQ(c.queued(message_type::heartbeat).size(), 2u);
    c.stabilize();
    ASSERT_EQ(c.reads[n(1)].size(), 1u);
    EXPECT_EQ(c.reads[n(1)][0].context, 77u);
    EXPECT_EQ(c.reads[n(1)][0].index, c.at(1).log().committed());
}

TEST(ReadIndex, AnIsolatedLeaderCannotAnswerARead) {
    cluster c(3);
    c.elect(1);
    c.isolate(1);
    c.at(1).read_index(5);
    c.stabilize();
    EXPECT_TRUE(c.reads[n(1)].empty());
}

TEST(ReadIndex, AFollowerAsksTheLeader) {
    cluster c(3);
    c.elect(1);
    ASSERT_TRUE(c.at(1).propose(payload(9)).ok());
    c.stabilize();
    c.at(2).read_index(11);
    c.stabilize();
    ASSERT_EQ(c.reads[n(2)].size(), 1u);
    EXPECT_EQ(c.reads[n(2)][0].context, 11u);
    EXPECT_EQ(c.reads[n(2)][0].index, c.at(1).log().committed());
}

TEST(ReadIndex, ANewLeaderWaitsForItsFirstCommit) {
    cluster c(3);
    c.hold_disk(1);
    c.hold_disk(2);
    c.hold_disk(3);
    c.elect(1);
    ASSERT_EQ(c.at(1).current_role(), role::leader);
    c.at(1).read_index(3);
    c.stabilize();
    EXPECT_TRUE(c.reads[n(1)].empty());  // its noop is not committed yet
    c.release_disk(2);
    c.release_disk(3);
    c.stabilize();
    ASSERT_EQ(c.reads[n(1)].size(), 1u);
}

TEST(Transfer, TheTargetIsBroughtUpToDateThenCampaignsAtOnce) {
    cluster c(3);
    c.elect(1);
    c.isolate(3);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    c.stabilize();
    c.heal();
    ASSERT_TRUE(c.at(1).transfer_leadership(n(3)).ok());
    c.stabilize();
    EXPECT_EQ(c.at(3).current_role(), role::leader);
    EXPECT_EQ(c.at(1).current_role(), role::follower);
    EXPECT_EQ(c.at(3).log().last_index(), c.at(1).log().last_index());
}

TEST(Transfer, ProposalsAreRefusedWhileATransferIsInProgress) {
    cluster c(3);
    c.elect(1);
    c.isolate(3);
    ASSERT_TRUE(c.at(1).transfer_leadership(n(3)).ok());
    auto r = c.at(1).propose(payload(1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, static_cast<int>(errc::transfer_in_progress));
}

TEST(Transfer, AnUnfinishedTransferIsAbandonedAfterAnElectionTimeout) {
    options o = test_options();
    o.check_quorum = false;
    cluster c(3, o);
    c.elect(1);
    c.isolate(3);
    ASSERT_TRUE(c.at(1).transfer_leadership(n(3)).ok());
    c.tick(1, 10);
    c.stabilize();
    EXPECT_EQ(c.at(1).transfer_target(), no_node);
    EXPECT_TRUE(c.at(1).propose(payload(1)).ok());
}

}  // namespace
}  // namespace qmq::raft::test
