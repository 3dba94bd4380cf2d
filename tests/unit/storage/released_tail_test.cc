// A WAL file whose last entries were released before the segment thread
// moved it: those entries are in no segment, and the next WAL file starts
// after them. Recovery must take that as released entries (as the running
// store does), not as a gap that damages the group.

#include <gtest/gtest.h>

#include "storage/log_store.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;

TEST(StorageReleasedTail, NextWalFileAfterReleasedTailRecovers) {
    scratch_dir dir;
    const group_id g(7);
    {
        auto s = log_store::open(test::small_options(dir.path()));
        ASSERT_TRUE(s) << s.err().message;
        std::vector<entry> first;
        for (uint64_t i = 1; i <= 10; ++i) {
            first.push_back(make_entry(g.value, i, 1));
        }
        ASSERT_TRUE((*s)->append(g, first));
        ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
        // Everything below 11 released except entry 4 (a live message).
        (*s)->set_live_indexes(g, {log_index(4)});
        (*s)->set_release_point(g, log_index(11));
        ASSERT_TRUE((*s)->sync_segments());  // WAL file 1 -> segment: only entry 4
        ASSERT_TRUE((*s)->append(g, std::vector<entry>{make_entry(g.value, 11, 1)}));
        ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
    }
    auto s = log_store::open(test::small_options(dir.path()));
    ASSERT_TRUE(s) << s.err().message;
    for (const auto& r : (*s)->recovered()) {
        EXPECT_TRUE(r.error.empty()) << r.error;
    }
    auto info = (*s)->info(g);
    ASSERT_TRUE(info && *info) << (info ? "no group" : info.err().message);
    EXPECT_EQ((*info)->last.value, 11u);
    auto four = (*s)->read(g, log_index(4), log_index(4));
    ASSERT_TRUE(four) << four.err().message;
    ASSERT_EQ(four->size(), 1u);
    EXPECT_EQ((*four)[0], make_entry(g.value, 4, 1));
    auto eleven = (*s)->read(g, log_index(11), log_index(11));
    ASSERT_TRUE(eleven) << eleven.err().message;
    ASSERT_EQ(eleven->size(), 1u);
    EXPECT_EQ((*eleven)[0], make_entry(g.value, 11, 1));
    // And the log continues.
    EXPECT_TRUE((*s)->append(g, std::vector<entry>{make_entry(g.value, 12, 1)}));
    EXPECT_EQ(test::wait_notices(**s, 1).size(), 1u);
}

}  // namespace
}  // namespace qmq::storage
