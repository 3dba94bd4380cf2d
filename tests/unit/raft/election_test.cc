// Leader election: randomized timeouts, votes, the election restriction,
// pre-vote and check-quorum (Raft §5.2, §5.4.1; thesis §9.6, §6.2).

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

TEST(Election, FollowerCampaignsAfterItsElectionTimeout) {
    options o = test_options();
    o.pre_vote = false;
    cluster c(3, o);
    int ticks = 0;
    while (c.at(1).current_role() == role::follower && ticks < 2 * 10) {
        c.tick(1);
        ++ticks;
    }
    EXPECT_GE(ticks, 10);  // not before the election timeout
    EXPECT_EQ(c.at(1).current_role(), role::candidate);
    EXPECT_EQ(c.at(1).term(), tm(1));
    EXPECT_EQ(c.queued(message_type::vote).size(), 2u);
}

TEST(Election, CandidateWithAMajorityOfVotesBecomesLeader) {
    cluster c(3);
    c.elect(1);
    EXPECT_EQ(c.at(1).current_role(), role::leader);
    EXPECT_EQ(c.at(2).leader(), n(1));
    EXPECT_EQ(c.at(3).leader(), n(1));
}

TEST(Election, VoteIsPersistedBeforeTheRequestIsSent) {
    options o = test_options();
    o.pre_vote = false;
    cluster c(3, o);
    c.at(1).campaign();
    output out = c.at(1).take_output();
    ASSERT_TRUE(out.persist_hard_state.has_value());
    EXPECT_EQ(out.persist_hard_state->term, tm(1));
    EXPECT_EQ(out.persist_hard_state->vote, n(1));
    EXPECT_EQ(out.send.size(), 2u);
}

TEST(Election, ANodeVotesAtMostOncePerTerm) {
    options o = test_options();
    o.pre_vote = false;
    cluster c(3, o);
    message v;
    v.group = group_id(1);
    v.type = message_type::vote;
    v.term = tm(1);
    v.from = n(1);
    v.to = n(3);
    c.at(3).step(v);
    v.from = n(2);
    c.at(3).step(v);
    auto out = c.at(3).take_output();
    ASSERT_EQ(out.send.size(), 2u);
    EXPECT_FALSE(out.send[0].reject);
    EXPECT_TRUE(out.send[1].reject);
    EXPECT_EQ(c.at(3).vote(), n(1));
}

TEST(Election, CandidateWithAStaleLogIsRefused) {
    options o = test_options();
    o.pre_vote = false;
    o.check_quorum = false;
    cluster c(3, o);
    c.elect(1);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    c.isolate(3);
    c.stabilize();
    c.heal();
    // 3 missed entry 2; it cannot win against 1 and 2 (§5.4.1).
    c.isolate(1);
    c.at(3).campaign();
    c.stabilize();
    EXPECT_NE(c.at(3).current_role(), role::leader);
    c.at(2).campaign();
    c.stabilize();
    EXPECT_EQ(c.at(2).current_role(), role::leader);
}

TEST(Election, PreVoteDoesNotRaiseTheTerm) {
    cluster c(3);
    c.at(1).campaign();
    EXPECT_EQ(c.at(1).current_role(), role::pre_candidate);
    EXPECT_EQ(c.at(1).term(), tm(0));
    c.collect_all();
    auto pre = c.queued(message_type::pre_vote);
    ASSERT_EQ(pre.size(), 2u);
    EXPECT_EQ(pre[0].term, tm(1));
}

TEST(Election, PreVoteKeepsAReturningNodeFromDeposingAHealthyLeader) {
    cluster c(3);
    c.elect(1);
    c.isolate(3);
    c.tick(3, 40);  // 3 times out again and again, alone
    c.stabilize();
    EXPECT_EQ(c.at(3).term(), tm(1));  // pre-votes failed; term never rose
    c.heal();
    c.tick_all(1);
    c.stabilize();
    EXPECT_EQ(c.at(1).current_role(), role::leader);
    EXPECT_EQ(c.at(1).term(), tm(1));
}

TEST(Election, CheckQuorumMakesAnIsolatedLeaderStepDown) {
    cluster c(3);
    c.elect(1);
    c.isolate(1);
    c.tick(1, 2 * 10 + 1);
    EXPECT_EQ(c.at(1).current_role(), role::follower);
}

TEST(Election, LeaderWithAQuorumKeepsLeading) {
    cluster c(3);
    c.elect(1);
    for (int i = 0; i < 30; ++i) {
        c.tick(1);
        c.stabilize();
    }
    EXPECT_EQ(c.at(1).current_role(), role::leader);
}

TEST(Election, FollowerInLeaseIgnoresAVoteRequest) {
    cluster c(3);
    c.elect(1);
    message v;
    v.group = group_id(1);
    v.type = message_type::vote;
    v.term = tm(5);
    v.from = n(3);
    v.to = n(2);
    v.index = li(100);
    v.log_term = tm(5);
    c.at(2).step(v);
    EXPECT_EQ(c.at(2).term(), tm(1));  // heard from the leader recently
    EXPECT_FALSE(c.at(2).has_output());
}

TEST(Election, AMessageOfAHigherTermTurnsALeaderIntoAFollower) {
    options o = test_options();
    o.check_quorum = false;
    cluster c(3, o);
    c.elect(1);
    message a;
    a.group = group_id(1);
    a.type = message_type::append;
    a.term = tm(7);
    a.from = n(2);
    a.to = n(1);
    c.at(1).step(a);
    EXPECT_EQ(c.at(1).current_role(), role::follower);
    EXPECT_EQ(c.at(1).term(), tm(7));
    EXPECT_EQ(c.at(1).leader(), n(2));
}

TEST(Election, ASingleVoterElectsItselfAtOnce) {
    cluster c(1);
    c.elect(1);
    EXPECT_EQ(c.at(1).current_role(), role::leader);
}

}  // namespace
}  // namespace qmq::raft::test
