// Log replication and the commit rule (§5.3, §3.6.2), durability ordering,
// flow control and fast backtracking.

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

TEST(Replication, AProposalCommitsOnceAMajorityHasIt) {
    cluster c(3);
    c.elect(1);
    auto idx = c.at(1).propose(payload(42));
    ASSERT_TRUE(idx.ok());
    c.stabilize();
    EXPECT_EQ(c.at(1).log().committed(), *idx);
    c.tick(1);
    c.stabilize();  // a heartbeat carries the commit index
    for (uint64_t i = 1; i <= 3; ++i) {
        ASSERT_FALSE(c.applied[n(i)].empty());
        EXPECT_EQ(c.applied[n(i)].back().data, payload(42));
    }
}

TEST(Replication, FollowersRejectProposals) {
    cluster c(3);
    c.elect(1);
    auto r = c.at(2).propose(payload(1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, static_cast<int>(errc::not_leader));
}

TEST(Replication, FollowerAcknowledgesOnlyAfterItsWriteIsDurable) {
    cluster c(2);
    c.elect(1);
    c.hold_disk(2);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    c.collect_all();
    c.deliver_all();  // the append reaches 2
    EXPECT_TRUE(c.queued(message_type::append_resp).empty());
    c.release_disk(2);
    auto acks = c.queued(message_type::append_resp);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].index, c.at(1).log().last_index());
}

TEST(Replication, LeaderCountsItselfOnlyUpToItsDurableIndex) {
    cluster c(2);
    c.elect(1);
    c.hold_disk(1);
    auto idx = c.at(1).propose(payload(1));
    ASSERT_TRUE(idx.ok());
    c.stabilize();  // the follower has it durably, the leader does not yet
    EXPECT_LT(c.at(1).log().committed(), *idx);
    c.release_disk(1);
    EXPECT_EQ(c.at(1).log().committed(), *idx);
}

TEST(Replication, LeaderSendsBeforeItsOwnWriteIsDurable) {
    cluster c(3);
    c.elect(1);
    c.hold_disk(1);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    c.collect_all();
    EXPECT_EQ(c.queued(message_type::append).size(), 2u);
    c.stabilize();
    // Two followers are a majority without the leader's disk.
    EXPECT_EQ(c.at(1).log().committed(), c.at(1).log().last_index());
}

log_entry ent(uint64_t index, uint64_t term) {
    return {tm(term), li(index), entry_kind::command, payload(index)};
}

TEST(Replication, AnEntryOfAnEarlierTermIsNotCommittedByCountingReplicas) {
    // Figure 8 (§3.6.2): node 1 holds entry 2 of term 1 alone; re-elected in
    // term 2 it copies entry 2 to node 2 (a majority) while its own term-2
    // noop is lost. Entry 2 must not count as committed.
    options o = test_options();
    o.append_entries_max = 1;
    cluster c(0, o);
    auto s1 = fresh({n(1), n(2), n(3)});
    s1.hard = {tm(1), n(1)};
    s1.entries = {ent(1, 1), ent(2, 1)};
    auto s2 = fresh({n(1), n(2), n(3)});
    s2.hard = {tm(1), n(1)};
    s2.entries = {ent(1, 1)};
    auto s3 = s2;
    c.add(n(1), s1);
    c.add(n(2), s2);
    c.add(n(3), s3);
    c.isolate(3);
    c.at(1).campaign();
    c.collect_all();
    while (!c.queue.empty()) {
        auto m = c.queue.front();
        c.queue.erase(c.queue.begin());
        if (m.type == message_type::append && !m.entries.empty() &&
            m.entries.front().term == tm(2)) {
            m.entries.clear();  // the noop is lost on the way
        }
        c.deliver(m);
    }
    ASSERT_EQ(c.at(1).current_role(), role::leader);
    ASSERT_EQ(c.at(1).term(), tm(2));
    ASSERT_EQ(c.at(1).progress_of(n(2))->match, li(2));
    EXPECT_EQ(c.at(1).log().committed(), li(0));
}

TEST(Replication, RejectionHintLetsTheLeaderSkipAWholeTerm) {
    options o = test_options();
    o.check_quorum = false;
    o.pre_vote = false;
    cluster c(3, o);
    c.elect(1);
    c.isolate(3);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(c.at(1).propose(payload(i)).ok());
    }
    c.stabilize();
    c.heal();
    // Node 3 missed five entries; the leader learns that in one round trip.
    c.tick(1);
    c.collect_all();
    c.deliver_all();  // heartbeat to 3
    c.deliver_all();  // heartbeat response -> append probe
    c.deliver_all();  // probe reaches 3 -> rejection with a hint
    std::vector<message> rej;
    for (const auto& m : c.queued(message_type::append_resp, 1)) {
        if (m.from == n(3)) {
            rej.push_back(m);
        }
    }
    ASSERT_EQ(rej.size(), 1u);
    EXPECT_TRUE(rej[0].reject);
    EXPECT_EQ(rej[0].hint_index, li(1));
    c.stabilize();
    EXPECT_EQ(c.at(3).log().last_index(), c.at(1).log().last_index());
}

TEST(Replication, PipelineStopsAtTheInflightLimit) {
    options o = test_options();
    o.inflight_msgs_max = 2;
    o.append_entries_max = 1;
    cluster c(2, o);
    c.elect(1);
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(c.at(1).propose(payload(i)).ok());
    }
    c.collect_all();
    EXPECT_EQ(c.queued(message_type::append, 2).size(), 2u);
    c.stabilize();
    EXPECT_EQ(c.at(2).log().last_index(), c.at(1).log().last_index());
}

TEST(Replication, ASlowFollowerDoesNotStallCommit) {
    cluster c(3);
    c.elect(1);
    c.hold_disk(3);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(c.at(1).propose(payload(i)).ok());
        c.stabilize();
    }
    EXPECT_EQ(c.at(1).log().committed(), c.at(1).log().last_index());
    EXPECT_LT(c.at(1).progress_of(n(3))->match, c.at(1).log().last_index());
}

TEST(Replication, FollowerOverwritesAnUncommittedConflictingSuffix) {
    options o = test_options();
    o.check_quorum = false;
    o.pre_vote = false;
    cluster c(3, o);
    c.elect(1);
    c.isolate(2);
    c.isolate(3);
    ASSERT_TRUE(c.at(1).propose(payload(1)).ok());
    ASSERT_TRUE(c.at(1).propose(payload(2)).ok());
    c.stabilize();
    c.heal();
    c.isolate(1);
    c.elect(2);
    ASSERT_EQ(c.at(2).current_role(), role::leader);
    ASSERT_TRUE(c.at(2).propose(payload(3)).ok());
    c.stabilize();
    c.heal();
    c.tick(2);
    c.stabilize();
    EXPECT_EQ(c.at(1).log().last_index(), c.at(2).log().last_index());
    EXPECT_EQ(c.at(1).log().last_term(), c.at(2).term());
}

}  // namespace
}  // namespace qmq::raft::test
