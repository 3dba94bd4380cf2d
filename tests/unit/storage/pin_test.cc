// The quorum-queue complaint: one old unacknowledged message pins the whole
// log behind it and the disk never shrinks. Here one message at the head
// stays live while everything behind it is pushed and acknowledged; disk use
// must fall back to a few segments. QMQ_PIN_TEST_MB sets the volume (default
// 64; the documented full run uses 1024).

#include <gtest/gtest.h>

#include <cstdlib>

#include "storage/file.h"
#include "storage/log_store.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::scratch_dir;

constexpr std::size_t body_bytes = 4096;
constexpr uint64_t per_append = 64;

log_store_options pin_options(const std::string& dir) {
    log_store_options o;
    o.dir = dir;
    o.node_id = "pin";
    o.wal_file_bytes_max = 4u << 20;
    o.segment_bytes_max = 1u << 20;
    o.batch_bytes_max = 1u << 20;
    o.write_cache_bytes_max = 4u << 20;
    return o;
}

uint64_t volume_mb() {
    const char* v = std::getenv("QMQ_PIN_TEST_MB");
    return v ? std::strtoull(v, nullptr, 10) : 64;
}

entry body(uint64_t index) {
    return entry{log_index(index), term_t(1), 0, bytes(body_bytes, std::byte(index & 0xFF))};
}

// Appends [from, to] in chunks with a bounded number in flight.
void push(log_store& s, uint64_t from, uint64_t to, bool ack_behind) {
    std::size_t in_flight = 0;
    for (uint64_t i = from; i <= to; i += per_append) {
        std::vector<entry> v;
        for (uint64_t k = i; k < i + per_append && k <= to; ++k) {
            v.push_back(body(k));
        }
        ASSERT_TRUE(s.append(group_id(1), v));
        ++in_flight;
        while (in_flight >= 8) {
            for (const auto& n : test::wait_notices(s, 1)) {
                ASSERT_TRUE(n.durable) << n.error;
                --in_flight;
                if (ack_behind) {
                    // The consumer acknowledged everything up to n.last
                    // except message 1: release it.
                    s.set_release_point(group_id(1), n.last.next());
                }
            }
        }
    }
    auto rest = test::wait_notices(s, in_flight);
    ASSERT_EQ(rest.size(), in_flight);
}

void expect_pinned_message(log_store& s) {
    auto r = s.read(group_id(1), log_index(1), log_index(1));
    ASSERT_TRUE(r) << r.err().message;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0], body(1));
}

TEST(StoragePin, AckedTrafficBehindOnePinnedMessageDoesNotGrowTheDisk) {
    scratch_dir dir;
    const auto opts = pin_options(dir.path());
    const uint64_t total = volume_mb() * (1u << 20) / body_bytes;
    uint64_t last = 0;
    {
        auto s = log_store::open(opts);
        ASSERT_TRUE(s);
        (*s)->set_live_indexes(group_id(1), {log_index(1)});
        push(**s, 1, total, true);
        last = total;
        ASSERT_TRUE((*s)->sync_segments());
        const uint64_t used = disk_usage(dir.path());
        // The pinned message's segment, the current WAL file, a little slack.
        EXPECT_LT(used, opts.wal_file_bytes_max + 2 * opts.segment_bytes_max)
            << "disk use " << used << " after " << volume_mb() << " MiB pushed and acked";
        expect_pinned_message(**s);
    }
    auto s = log_store::open(opts);
    ASSERT_TRUE(s);
    expect_pinned_message(**s);
    auto info = (*s)->info(group_id(1));
    ASSERT_TRUE(info && *info);
    EXPECT_EQ((*info)->last.value, last);
}

TEST(StoragePin, LateAcksCompactSegmentsAlreadyWritten) {
    scratch_dir dir;
    const auto opts = pin_options(dir.path());
    const uint64_t total = 16u * (1u << 20) / body_bytes;
    auto s = log_store::open(opts);
    ASSERT_TRUE(s);
    push(**s, 1, total, false);
    ASSERT_TRUE((*s)->sync_segments());
    const uint64_t before = disk_usage(dir.path());
    EXPECT_GT(before, 16u << 20);
    // Now the consumer acknowledges everything but message 1 and one
    // message in the middle.
    (*s)->set_live_indexes(group_id(1), {log_index(1), log_index(total / 2)});
    (*s)->set_release_point(group_id(1), log_index(total + 1));
    ASSERT_TRUE((*s)->sync_segments());
    const uint64_t after = disk_usage(dir.path());
    EXPECT_LT(after, opts.wal_file_bytes_max + 3 * opts.segment_bytes_max) << "before " << before;
    EXPECT_GT((*s)->stats().segments_compacted, 0u);
    expect_pinned_message(**s);
    auto mid = (*s)->read(group_id(1), log_index(total / 2), log_index(total / 2));
    ASSERT_TRUE(mid);
    ASSERT_EQ(mid->size(), 1u);
    EXPECT_EQ((*mid)[0], body(total / 2));
    // Released entries are gone from reads.
    auto gone = (*s)->read(group_id(1), log_index(2), log_index(10));
    ASSERT_TRUE(gone);
    EXPECT_TRUE(gone->empty());
}

}  // namespace
}  // namespace qmq::storage
