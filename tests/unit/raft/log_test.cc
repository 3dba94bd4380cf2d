// The log: matching, truncation, hints, durability reports, compaction.

#include "raft/log.h"

#include <gtest/gtest.h>

#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

log_entry ent(uint64_t index, uint64_t term) {
    return {tm(term), li(index), entry_kind::command, payload(index)};
}

raft_log log_of(std::vector<uint64_t> terms) {
    std::vector<log_entry> es;
    for (std::size_t i = 0; i < terms.size(); ++i) {
        es.push_back(ent(i + 1, terms[i]));
    }
    snapshot_meta s;
    s.config.voters = {n(1)};
    return raft_log(s, std::move(es));
}

TEST(Log, AppendIsRejectedWhenThePreviousEntryDoesNotMatch) {
    auto log = log_of({1, 1, 2});
    std::vector<log_entry> es{ent(4, 3)};
    EXPECT_FALSE(log.maybe_append(li(3), tm(1), es).has_value());
    EXPECT_FALSE(log.maybe_append(li(5), tm(2), es).has_value());
    EXPECT_EQ(log.last_index(), li(3));
}

TEST(Log, FollowerTruncatesTheFirstConflictingSuffix) {
    auto log = log_of({1, 1, 2, 2});
    std::vector<log_entry> es{ent(3, 3), ent(4, 3)};
    auto last = log.maybe_append(li(2), tm(1), es);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(*last, li(4));
    EXPECT_EQ(log.term_at(li(3)), tm(3));
    EXPECT_EQ(log.last_index(), li(4));
}

TEST(Log, AStaleAppendDoesNotTruncateLaterMatchingEntries) {
    auto log = log_of({1, 1, 1, 1});
    std::vector<log_entry> es{ent(2, 1)};
    auto last = log.maybe_append(li(1), tm(1), es);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(*last, li(2));
    EXPECT_EQ(log.last_index(), li(4));
}

TEST(Log, ConflictHintSkipsWholeTerms) {
    // Follower log terms: 1 1 2 2 2 2; leader probes at index 6 with term 3.
    auto log = log_of({1, 1, 2, 2, 2, 2});
    auto [idx, t] = log.find_conflict_by_term(li(6), tm(3));
    EXPECT_EQ(idx, li(6));
    EXPECT_EQ(t, tm(2));
    // Probing with term 1 jumps over all of term 2 at once.
    auto [idx1, t1] = log.find_conflict_by_term(li(6), tm(1));
    EXPECT_EQ(idx1, li(2));
    EXPECT_EQ(t1, tm(1));
}

TEST(Log, ElectionRestrictionComparesLastTermThenLength) {
    auto log = log_of({1, 2, 2});
    EXPECT_TRUE(log.up_to_date(li(3), tm(2)));
    EXPECT_TRUE(log.up_to_date(li(1), tm(3)));
    EXPECT_FALSE(log.up_to_date(li(2), tm(2)));
    EXPECT_FALSE(log.up_to_date(li(9), tm(1)));
}

TEST(Log, DurableReportForATruncatedEntryIsIgnored) {
    auto log = log_of({});
    log.append({ent(1, 1), ent(2, 1)});
    (void)log.take_unpersisted();
    std::vector<log_entry> es{ent(2, 2)};
    ASSERT_TRUE(log.maybe_append(li(1), tm(1), es).has_value());
    EXPECT_FALSE(log.on_durable(tm(1), li(2)));  // the old entry 2 is gone
    EXPECT_EQ(log.durable(), li(0));
    EXPECT_TRUE(log.on_durable(tm(2), li(2)));
    EXPECT_EQ(log.durable(), li(2));
}

TEST(Log, TruncationIsHandedOutAgainForPersisting) {
    auto log = log_of({});
    log.append({ent(1, 1), ent(2, 1), ent(3, 1)});
    EXPECT_EQ(log.take_unpersisted().size(), 3u);
    std::vector<log_entry> es{ent(2, 2)};
    ASSERT_TRUE(log.maybe_append(li(1), tm(1), es).has_value());
    auto again = log.take_unpersisted();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again.front().index, li(2));
    EXPECT_EQ(again.front().term, tm(2));
}

TEST(Log, ConfigurationTakesEffectWhenAppendedAndRevertsOnTruncation) {
    auto log = log_of({1});
    configuration c;
    c.voters = {n(1), n(2)};
    log.append({log_entry{tm(1), li(2), entry_kind::config, encode_configuration(c)}});
    EXPECT_EQ(log.config(), c);
    std::vector<log_entry> es{ent(2, 2)};
    ASSERT_TRUE(log.maybe_append(li(1), tm(1), es).has_value());
    EXPECT_EQ(log.config().voters, std::vector<node_id>{n(1)});
}

TEST(Log, CompactionKeepsTheTermAndConfigurationInForce) {
    auto log = log_of({1, 1, 2, 2});
    log.commit_to(li(3));
    (void)log.take_committed();
    log.compact(li(3));
    EXPECT_EQ(log.snap_index(), li(3));
    EXPECT_EQ(log.term_at(li(3)), tm(2));
    EXPECT_FALSE(log.term_at(li(2)).has_value());
    EXPECT_EQ(log.snap().config.voters, std::vector<node_id>{n(1)});
    EXPECT_EQ(log.last_index(), li(4));
}

}  // namespace
}  // namespace qmq::raft::test
