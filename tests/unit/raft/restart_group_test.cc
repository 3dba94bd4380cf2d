// Restart from durable state, group addressing, and chunk ordering.

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

message vote_from(uint64_t from, uint64_t to, uint64_t term) {
    message v;
    v.group = group_id(1);
    v.type = message_type::vote;
    v.term = tm(term);
    v.from = n(from);
    v.to = n(to);
    return v;
}

TEST(Restart, ANodeRestartsWithItsTermAndVote) {
    options o = test_options();
    o.pre_vote = false;
    auto s = fresh({n(1), n(2), n(3)});
    s.hard = {tm(3), n(2)};
    fsm f(group_id(1), n(1), o, std::move(s), 1);
    EXPECT_EQ(f.term(), tm(3));
    EXPECT_EQ(f.vote(), n(2));
    f.step(vote_from(3, 1, 3));  // same term, another candidate
    auto out = f.take_output();
    ASSERT_EQ(out.send.size(), 1u);
    EXPECT_TRUE(out.send[0].reject);
    EXPECT_FALSE(out.persist_hard_state.has_value());  // nothing changed
}

TEST(Restart, ARestartedLogIsDurableUpToItsLastEntry) {
    auto s = fresh({n(1)});
    s.hard = {tm(2), n(1)};
    s.entries = {log_entry{tm(1), li(1), entry_kind::noop, {}},
                 log_entry{tm(2), li(2), entry_kind::command, payload(1)}};
    fsm f(group_id(1), n(1), test_options(), std::move(s), 1);
    EXPECT_EQ(f.log().durable(), li(2));
    EXPECT_EQ(f.log().committed(), li(0));  // learned again from a leader
    EXPECT_FALSE(f.has_output());
}

TEST(Group, EveryMessageCarriesTheGroupId) {
    cluster c(3);
    c.at(1).campaign();
    c.collect_all();
    ASSERT_FALSE(c.queue.empty());
    for (const auto& m : c.queue) {
        EXPECT_EQ(m.group, group_id(1));
    }
}

TEST(Group, AMessageForAnotherGroupIsIgnored) {
    cluster c(3);
    auto v = vote_from(2, 1, 5);
    v.group = group_id(2);
    c.at(1).step(v);
    EXPECT_EQ(c.at(1).term(), tm(0));
    EXPECT_FALSE(c.at(1).has_output());
}

TEST(Snapshot, AChunkAtTheWrongOffsetIsAnsweredWithTheOffsetWanted) {
    fsm f(group_id(1), n(2), test_options(), fresh({n(1), n(2), n(3)}), 1);
    message m;
    m.group = group_id(1);
    m.type = message_type::snapshot;
    m.term = tm(1);
    m.from = n(1);
    m.to = n(2);
    snapshot_chunk c;
    c.meta.index = li(10);
    c.meta.term = tm(1);
    c.meta.config.voters = {n(1), n(2), n(3)};
    c.offset = 4;  // the first chunk was lost
    c.total = 8;
    c.data = bytes(4);
    c.last = true;
    m.chunk = c;
    f.step(m);
    auto out = f.take_output();
    ASSERT_EQ(out.send.size(), 1u);
    EXPECT_EQ(out.send[0].type, message_type::snapshot_resp);
    EXPECT_TRUE(out.send[0].reject);
    EXPECT_EQ(out.send[0].context, 0u);
    EXPECT_FALSE(out.persist_snapshot.has_value());
}

}  // namespace
}  // namespace qmq::raft::test
