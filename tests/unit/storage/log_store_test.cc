#include "storage/log_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "storage/file.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;
using test::small_options;
using test::wait_notices;

std::unique_ptr<log_store> open_store(const log_store_options& o) {
    auto s = log_store::open(o);
    EXPECT_TRUE(s) << (s ? "" : s.err().message);
    return s ? std::move(*s) : nullptr;
}

std::vector<entry> entries(uint64_t group, uint64_t from, uint64_t to, uint64_t term) {
    std::vector<entry> v;
    for (uint64_t i = from; i <= to; ++i) {
        v.push_back(make_entry(group, i, term));
    }
    return v;
}

void expect_range(log_store& s, uint64_t group, uint64_t from, uint64_t to, uint64_t term) {
    std::vector<entry> got;
    uint64_t next = from;
    while (next <= to) {
        auto r = s.read(group_id(group), log_index(next), log_index(to));
        ASSERT_TRUE(r) << r.err().message;
        ASSERT_FALSE(r->empty()) << "group " << group << " from " << next;
        for (auto& e : *r) {
            got.push_back(std::move(e));
        }
        next = got.back().index.value + 1;
    }
    ASSERT_EQ(got.size(), to - from + 1);
    for (uint64_t i = from; i <= to; ++i) {
        EXPECT_EQ(got[i - from], make_entry(group, i, term)) << "group " << group << " index " << i;
    }
}

TEST(LogStore, AppendIsAnsweredOnceAndReadsBack) {
    scratch_dir dir;
    auto s = open_store(small_options(dir.path()));
    ASSERT_TRUE(s);
    auto e = entries(1, 1, 10, 1);
    ASSERT_TRUE(s->append(group_id(1), e));
    auto n = wait_notices(*s, 1);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_TRUE(n[0].durable);
    EXPECT_EQ(n[0].group, group_id(1));
    EXPECT_EQ(n[0].first, log_index(1));
    EXPECT_EQ(n[0].last, log_index(10));
    EXPECT_EQ(n[0].term, term_t(1));
    // Exactly once: nothing more arrives.
    EXPECT_FALSE(s->wait_durable(std::chrono::milliseconds(50)));
    expect_range(*s, 1, 1, 10, 1);
    auto info = s->info(group_id(1));
    ASSERT_TRUE(info && *info);
    EXPECT_EQ((*info)->first, log_index(1));
    EXPECT_EQ((*info)->last, log_index(10));
    EXPECT_EQ((*info)->last_term, term_t(1));
}

TEST(LogStore, AppendsFromManyThreadsShareFdatasyncs) {
    scratch_dir dir;
    auto s = open_store(small_options(dir.path()));
    ASSERT_TRUE(s);
    constexpr uint64_t threads = 4;
    constexpr uint64_t per_thread = 100;
    const uint64_t batches_before = s->stats().wal_batches;
    std::vector<std::thread> ts;
    for (uint64_t t = 1; t <= threads; ++t) {
        ts.emplace_back([&, t] {
            for (uint64_t i = 1; i <= per_thread; ++i) {
                EXPECT_TRUE(s->append(group_id(t), std::vector<entry>{make_entry(t, i, 1)}));
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    auto n = wait_notices(*s, threads * per_thread);
    ASSERT_EQ(n.size(), threads * per_thread);
    std::map<uint64_t, std::set<uint64_t>> seen;
    for (const auto& x : n) {
        EXPECT_TRUE(x.durable);
        EXPECT_TRUE(seen[x.group.value].insert(x.last.value).second) << "answered twice";
    }
    for (uint64_t t = 1; t <= threads; ++t) {
        EXPECT_EQ(seen[t].size(), per_thread);
    }
    // One fdatasync per batch, and far fewer batches than appends (each
    // fdatasync takes milliseconds; appends queue up behind it).
    const uint64_t batches = s->stats().wal_batches - batches_before;
    EXPECT_LT(batches, threads * per_thread / 4) << batches << " batches";
    std::printf("group commit: %llu appends in %llu batches\n",
                static_cast<unsigned long long>(threads * per_thread),
                static_cast<unsigned long long>(batches));
}

TEST(LogStore, RejectsGapsAndNonConsecutiveEntries) {
    scratch_dir dir;
    auto s = open_store(small_options(dir.path()));
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->append(group_id(1), entries(1, 1, 3, 1)));
    EXPECT_FALSE(s->append(group_id(1), entries(1, 5, 6, 1)));
    std::vector<entry> bad{make_entry(1, 4, 1), make_entry(1, 6, 1)};
    EXPECT_FALSE(s->append(group_id(1), bad));
    EXPECT_FALSE(s->append(group_id(0), entries(0, 1, 1, 1)));
    EXPECT_EQ(wait_notices(*s, 1).size(), 1u);
}

TEST(LogStore, ManyInterleavedGroupsSurviveRestartAndRollover) {
    scratch_dir dir;
    const auto opts = small_options(dir.path());
    constexpr uint64_t groups = 20;
    constexpr uint64_t per_group = 300;
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        std::size_t calls = 0;
        for (uint64_t i = 1; i <= per_group; i += 3) {
            for (uint64_t g = 1; g <= groups; ++g) {
                ASSERT_TRUE(s->append(group_id(g), entries(g, i, i + 2, 1 + i / 100)));
                ++calls;
            }
        }
        auto n = wait_notices(*s, calls);
        ASSERT_EQ(n.size(), calls);
        std::map<uint64_t, uint64_t> last;
        for (const auto& x : n) {
            EXPECT_TRUE(x.durable);
            EXPECT_EQ(x.first.value, last[x.group.value] + 1) << "in order per group";
            last[x.group.value] = x.last.value;
        }
        // Rolled over several WAL files: some entries are in segments now.
        ASSERT_TRUE(s->sync_segments());
        EXPECT_GT(s->stats().segments, 0u);
        for (uint64_t g = 1; g <= groups; ++g) {
            for (uint64_t i = 1; i <= per_group; i += 3) {
                std::vector<entry> want = entries(g, i, i + 2, 1 + i / 100);
                auto r = s->read(group_id(g), log_index(i), log_index(i + 2));
                ASSERT_TRUE(r);
                ASSERT_EQ(*r, want);
            }
        }
    }
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->recovered().size(), groups);
    for (const auto& rec : s->recovered()) {
        EXPECT_TRUE(rec.error.empty()) << rec.error;
        EXPECT_EQ(rec.first, log_index(1));
        EXPECT_EQ(rec.last, log_index(per_group));
        EXPECT_EQ(rec.last_term, term_t(1 + (per_group - 2) / 100));
    }
    for (uint64_t g = 1; g <= groups; ++g) {
        for (uint64_t i = 1; i <= per_group; i += 3) {
            auto r = s->read(group_id(g), log_index(i), log_index(i + 2));
            ASSERT_TRUE(r);
            ASSERT_EQ(*r, entries(g, i, i + 2, 1 + i / 100));
        }
    }
}

TEST(LogStore, ReadsComeFromCacheWalAndSegmentsAlike) {
    scratch_dir dir;
    auto opts = small_options(dir.path());
    opts.write_cache_bytes_max = 1;  // evict at once: reads go to the WAL file
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->append(group_id(3), entries(3, 1, 100, 2)));
    ASSERT_EQ(wait_notices(*s, 1).size(), 1u);
    expect_range(*s, 3, 1, 100, 2);  // from the WAL file
    ASSERT_TRUE(s->sync_segments());
    ASSERT_TRUE(s->append(group_id(3), entries(3, 101, 150, 2)));
    // Pending or just written: from memory or WAL; older ones from segments.
    expect_range(*s, 3, 1, 150, 2);
    ASSERT_EQ(wait_notices(*s, 1).size(), 1u);
    expect_range(*s, 3, 50, 120, 2);
    auto t = s->term_at(group_id(3), log_index(7));
    ASSERT_TRUE(t && *t);
    EXPECT_EQ(**t, term_t(2));
}

TEST(LogStore, SuffixOverwriteAndTruncationAreDurable) {
    scratch_dir dir;
    const auto opts = small_options(dir.path());
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->append(group_id(1), entries(1, 1, 50, 1)));
        ASSERT_TRUE(s->append(group_id(2), entries(2, 1, 50, 1)));
        ASSERT_EQ(wait_notices(*s, 2).size(), 2u);
        ASSERT_TRUE(s->sync_segments());  // 1..50 now in segments
        // Follower overwrite from index 41 with a new term, reaching into segments.
        ASSERT_TRUE(s->append(group_id(1), entries(1, 41, 45, 2)));
        // Group 2: truncation without replacement, then a new tail.
        ASSERT_TRUE(s->truncate_suffix(group_id(2), log_index(31)));
        ASSERT_TRUE(s->append(group_id(2), entries(2, 31, 35, 3)));
        ASSERT_EQ(wait_notices(*s, 2).size(), 2u);
        expect_range(*s, 1, 1, 40, 1);
        expect_range(*s, 1, 41, 45, 2);
        expect_range(*s, 2, 31, 35, 3);
        auto r = s->read(group_id(1), log_index(46), log_index(50));
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->empty());
    }
    for (int round = 0; round < 2; ++round) {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        auto i1 = s->info(group_id(1));
        ASSERT_TRUE(i1 && *i1);
        EXPECT_EQ((*i1)->last, log_index(45));
        EXPECT_EQ((*i1)->last_term, term_t(2));
        expect_range(*s, 1, 1, 40, 1);
        expect_range(*s, 1, 41, 45, 2);
        expect_range(*s, 2, 1, 30, 1);
        expect_range(*s, 2, 31, 35, 3);
        // Second round: after the segment thread has cut the segments.
        ASSERT_TRUE(s->sync_segments());
    }
}

TEST(LogStore, TruncateToEmptyThenRestartAtAnyIndex) {
    scratch_dir dir;
    const auto opts = small_options(dir.path());
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->append(group_id(9), entries(9, 1, 20, 1)));
        ASSERT_EQ(wait_notices(*s, 1).size(), 1u);
        ASSERT_TRUE(s->sync_segments());
        // Snapshot install: the whole log goes, the next entry is 1001.
        ASSERT_TRUE(s->truncate_suffix(group_id(9), log_index(1)));
        ASSERT_TRUE(s->append(group_id(9), entries(9, 1001, 1010, 4)));
        ASSERT_EQ(wait_notices(*s, 1).size(), 1u);
    }
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    auto info = s->info(group_id(9));
    ASSERT_TRUE(info && *info);
    EXPECT_EQ((*info)->first, log_index(1001));
    EXPECT_EQ((*info)->last, log_index(1010));
    expect_range(*s, 9, 1001, 1010, 4);
    auto r = s->read(group_id(9), log_index(1), log_index(20));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(LogStore, ReleasePointDeletesWholeSegmentsAndCompactsLiveOnes) {
    scratch_dir dir;
    auto opts = small_options(dir.path());
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        // ~600 KiB for one group: several 128 KiB segments.
        for (uint64_t i = 1; i <= 2000; i += 100) {
            ASSERT_TRUE(s->append(group_id(1), entries(1, i, i + 99, 1)));
        }
        ASSERT_EQ(wait_notices(*s, 20).size(), 20u);
        ASSERT_TRUE(s->sync_segments());
        const auto before = s->stats();
        ASSERT_GE(before.segments, 4u);
        // Everything below 1900 released, except 5 and 777.
        s->set_live_indexes(group_id(1), {log_index(5), log_index(777)});
        s->set_release_point(group_id(1), log_index(1900));
        ASSERT_TRUE(s->sync_segments());
        const auto after = s->stats();
        EXPECT_LT(after.segments, before.segments);
        EXPECT_GT(after.segments_deleted, 0u);
        EXPECT_GT(after.segments_compacted, 0u);
        auto r = s->read(group_id(1), log_index(1), log_index(2000));
        ASSERT_TRUE(r);
        std::vector<uint64_t> got;
        for (const auto& e : *r) {
            EXPECT_EQ(e, make_entry(1, e.index.value, 1));
            got.push_back(e.index.value);
        }
        ASSERT_EQ(got.size(), 2u + 101u);
        EXPECT_EQ(got[0], 5u);
        EXPECT_EQ(got[1], 777u);
        EXPECT_EQ(got[2], 1900u);
    }
    // After a restart the compacted segments still hold the live entries.
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    for (uint64_t i : {5u, 777u, 1900u, 2000u}) {
        auto r = s->read(group_id(1), log_index(i), log_index(i));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->size(), 1u) << i;
        EXPECT_EQ((*r)[0], make_entry(1, i, 1));
    }
}

}  // namespace
}  // namespace qmq::storage
