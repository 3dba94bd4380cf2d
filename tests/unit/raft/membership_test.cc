// Membership change by joint consensus (thesis §4.3) and learners.

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

durable_state empty_member() {
    return fresh({});
}

TEST(Membership, ALearnerReceivesTheLogButNeitherVotesNorCounts) {
    cluster c(3);
    c.add(n(4), empty_member());
    c.elect(1);
    ASSERT_TRUE(c.at(1).change_membership({n(1), n(2), n(3)}, {n(4)}).ok());
    c.stabilize();
    ASSERT_TRUE(c.at(1).propose(payload(5)).ok());
    c.stabilize();
    EXPECT_EQ(c.at(4).log().last_index(), c.at(1).log().last_index());
    EXPECT_TRUE(c.at(1).config().is_learner(n(4)));
    EXPECT_FALSE(c.at(1).config().is_voter(n(4)));
    // A learner never campaigns.
    c.tick(4, 100);
    EXPECT_EQ(c.at(4).current_role(), role::follower);
}

TEST(Membership, ChangeGoesThroughJointConsensusThenToTheNewConfigurationByItself) {
    cluster c(3);
    c.add(n(4), empty_member());
    c.elect(1);
    auto r = c.at(1).change_membership({n(1), n(2), n(3), n(4)}, {});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(c.at(1).config().joint());  // takes effect when appended
    c.stabilize();
    EXPECT_FALSE(c.at(1).config().joint());  // C_new followed C_old,new's commit
    EXPECT_EQ(c.at(1).config().voters.size(), 4u);
    EXPECT_EQ(c.at(1).log().committed(), c.at(1).log().last_index());
}

TEST(Membership, WhileJointACommitNeedsAMajorityOfBothConfigurations) {
    cluster c(3);
    c.add(n(4), empty_member());
    c.add(n(5), empty_member());
    c.elect(1);
    c.isolate(4);
    c.isolate(5);
    // C_new = {1,4,5}: its majority needs 4 or 5, which are unreachable.
    ASSERT_TRUE(c.at(1).change_membership({n(1), n(4), n(5)}, {}).ok());
    const log_index joint_at = c.at(1).log().last_index();
    c.stabilize();
    EXPECT_LT(c.at(1).log().committed(), joint_at);
    c.heal();
    c.tick(1);
    c.stabilize();
    EXPECT_GE(c.at(1).log().committed(), joint_at);
}

TEST(Membership, OnlyOneChangeIsInFlightAtATime) {
    cluster c(3);
    c.add(n(4), empty_member());
    c.elect(1);
    c.isolate(2);
    c.isolate(3);
    ASSERT_TRUE(c.at(1).change_membership({n(1), n(2), n(3), n(4)}, {}).ok());
    auto second = c.at(1).change_membership({n(1), n(2)}, {});
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.err().code, static_cast<int>(errc::change_in_progress));
}

TEST(Membership, ALeaderNotInTheNewConfigurationStepsDownOnceItCommits) {
    cluster c(3);
    c.elect(1);
    ASSERT_TRUE(c.at(1).change_membership({n(2), n(3)}, {}).ok());
    c.stabilize();
    EXPECT_EQ(c.at(1).current_role(), role::follower);
    EXPECT_FALSE(c.at(2).config().is_voter(n(1)));
    // The remaining voters elect a leader among themselves once their
    // leader lease runs out.
    for (int i = 0; i < 100 && c.at(2).current_role() != role::leader &&
                    c.at(3).current_role() != role::leader;
         ++i) {
        c.tick_all();
        c.stabilize();
    }
    EXPECT_TRUE(c.at(2).current_role() == role::leader || c.at(3).current_role() == role::leader);
    EXPECT_EQ(c.at(1).current_role(), role::follower);
}

TEST(Membership, ALearnerCannotBeAnOldVoter) {
    cluster c(3);
    c.elect(1);
    auto r = c.at(1).change_membership({n(1), n(2)}, {n(3)});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, static_cast<int>(errc::bad_configuration));
}

}  // namespace
}  // namespace qmq::raft::test

namespace qmq::raft::test {
namespace {

TEST(Membership, ALearnerIsPromotedToVoterByAChange) {
    cluster c(3);
    c.add(n(4), fresh({}));
    c.elect(1);
    ASSERT_TRUE(c.at(1).change_membership({n(1), n(2), n(3)}, {n(4)}).ok());
    c.stabilize();
    ASSERT_TRUE(c.at(1).change_membership({n(1), n(2), n(3), n(4)}, {}).ok());
    c.stabilize();
    EXPECT_TRUE(c.at(4).config().is_voter(n(4)));
    EXPECT_FALSE(c.at(4).config().joint());
    EXPECT_TRUE(c.at(4).config().learners.empty());
}

}  // namespace
}  // namespace qmq::raft::test
