// read() is bounded by read_bytes_max; the caller continues from the last
// index returned + 1, so what one read returns must have no hole. A segment
// stops at the byte budget counting the released records it read too (they
// are left out of the result): the read must end there rather than go on
// with the next piece (the WAL entries after the segments). This is how a
// restarted durable queue recovered 86 920 of 220 000 messages in session 2.

#include <gtest/gtest.h>

#include "storage/log_store.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;

std::vector<entry> entries(uint64_t group, uint64_t from, uint64_t to) {
    std::vector<entry> out;
    for (uint64_t i = from; i <= to; ++i) {
        out.push_back(make_entry(group, i, 1));
    }
    return out;
}

// Reads [1, last] as a replaying caller does and checks every index above
// `release` comes back once, in order.
void read_all_in_order(log_store& s, group_id g, uint64_t release, uint64_t last) {
    uint64_t from = 1;
    uint64_t next_needed = release;
    while (from <= last) {
        auto part = s.read(g, log_index(from), log_index(last));
        ASSERT_TRUE(part) << part.err().message;
        ASSERT_FALSE(part->empty()) << "nothing from " << from;
        for (const auto& e : *part) {
            ASSERT_TRUE(test::entry_is_right(g.value, e));
            if (e.index.value >= release) {
                ASSERT_EQ(e.index.value, next_needed) << "read from " << from;
                ++next_needed;
            }
            from = e.index.value + 1;
        }
    }
    EXPECT_EQ(next_needed, last + 1);
}

TEST(StorageReadBudget, SegmentCutByTheBudgetEndsTheRead) {
    scratch_dir dir;
    const group_id g(21);
    auto opts = test::small_options(dir.path());
    opts.segment_bytes_max = 4u << 20;
    opts.read_bytes_max = 16u << 10;
    auto s = log_store::open(opts);
    ASSERT_TRUE(s) << s.err().message;
    ASSERT_TRUE((*s)->append(g, entries(g.value, 1, 600)));
    ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
    ASSERT_TRUE((*s)->sync_segments());                        // 1..600 in one segment
    ASSERT_TRUE((*s)->append(g, entries(g.value, 601, 610)));  // in the WAL
    ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
    // Released below 100 except the odd ones (still in the segment: it is
    // not wholly below the release point, so not compacted).
    std::vector<log_index> live;
    for (uint64_t i = 1; i < 100; i += 2) {
        live.emplace_back(i);
    }
    (*s)->set_live_indexes(g, live);
    (*s)->set_release_point(g, log_index(100));
    read_all_in_order(**s, g, 100, 610);
}

TEST(StorageReadBudget, OnlyReleasedRecordsInTheBudgetReadOn) {
    scratch_dir dir;
    const group_id g(22);
    auto opts = test::small_options(dir.path());
    opts.segment_bytes_max = 4u << 20;
    opts.read_bytes_max = 4u << 10;  // fewer bytes than the released run below
    auto s = log_store::open(opts);
    ASSERT_TRUE(s) << s.err().message;
    ASSERT_TRUE((*s)->append(g, entries(g.value, 1, 300)));
    ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
    ASSERT_TRUE((*s)->sync_segments());
    (*s)->set_live_indexes(g, {log_index(250)});  // keeps the segment from compaction
    (*s)->set_release_point(g, log_index(200));
    read_all_in_order(**s, g, 200, 300);
}

}  // namespace
}  // namespace qmq::storage
