// A flush that fails after appending to a segment is retried, possibly with
// fewer records (more of them released by then). The records of the failed
// attempt must not survive past the retry's end: a restart would read them
// back as part of the log.

#include <gtest/gtest.h>

#include "storage/format.h"
#include "storage/segment.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::scratch_dir;

constexpr uint64_t group = 5;

void append_range(segment& s, uint64_t from, uint64_t to) {
    bytes buf;
    std::vector<segment::record_ref> refs;
    for (uint64_t i = from; i <= to; ++i) {
        refs.push_back({i, 1, static_cast<uint32_t>(buf.size())});
        const entry e = test::make_entry(group, i, 1, 200);
        format::append_record(buf, format::record_kind::entry, group, 1, i,
                              static_cast<uint8_t>(e.type), e.payload);
    }
    ASSERT_TRUE(s.append(buf, refs));
}

TEST(StorageSegmentDiscard, RetryWritingLessLeavesNoStaleRecords) {
    scratch_dir dir;
    {
        auto s = segment::create(dir.path(), "test-node", group, 1);
        ASSERT_TRUE(s) << s.err().message;
        append_range(**s, 1, 10);
        ASSERT_TRUE((*s)->sync());
        append_range(**s, 11, 40);  // the failed attempt
        (*s)->discard_pending();
        append_range(**s, 11, 12);  // the retry copies less
        ASSERT_TRUE((*s)->sync());
        EXPECT_EQ((*s)->last(), 12u);
    }
    auto s = segment::open(dir.path(), "test-node", group, 1);
    ASSERT_TRUE(s) << s.err().message;
    ASSERT_TRUE(*s);
    EXPECT_FALSE((*s)->tail_damage().has_value()) << *(*s)->tail_damage();
    EXPECT_EQ((*s)->first(), 1u);
    EXPECT_EQ((*s)->last(), 12u);
    std::vector<entry> all;
    ASSERT_TRUE((*s)->read(1, 100, uint64_t{1} << 20, all));
    ASSERT_EQ(all.size(), 12u);
    EXPECT_EQ(all.back().index.value, 12u);
}

}  // namespace
}  // namespace qmq::storage
