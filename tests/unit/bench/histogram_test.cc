#include "loadgen/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/prng.h"

namespace qmq::bench {
namespace {

TEST(Histogram, SmallValuesAreExact) {
    histogram h(3'600'000'000ull, 3);
    for (uint64_t v = 0; v < 2048; ++v) {
        EXPECT_EQ(h.lowest_equivalent(h.index_of(v)), v);
        EXPECT_EQ(h.highest_equivalent(h.index_of(v)), v);
    }
}

TEST(Histogram, SlotsCoverEveryValueWithinRelativeError) {
    histogram h(3'600'000'000ull, 3);
    prng rng(42);
    for (int i = 0; i < 200'000; ++i) {
        const uint64_t v = rng.below(h.highest_trackable() + 1);
        const std::size_t idx = h.index_of(v);
        ASSERT_LT(idx, h.slot_count());
        const uint64_t lo = h.lowest_equivalent(idx);
        const uint64_t hi = h.highest_equivalent(idx);
        ASSERT_LE(lo, v);
        ASSERT_GE(hi, v);
        // 3 significant digits: a slot is at most 1/1000 of its value wide.
        ASSERT_LE(static_cast<double>(hi - lo), static_cast<double>(lo) / 1000.0 + 1.0);
    }
}

TEST(Histogram, SlotsAreContiguousAndIncreasing) {
    histogram h(1'000'000, 2);
    for (std::size_t i = 1; i < h.slot_count(); ++i) {
        // Bucket 0's upper half and bucket 1 do not overlap: next slot starts
        // right after the previous one ends.
        ASSERT_EQ(h.lowest_equivalent(i), h.highest_equivalent(i - 1) + 1) << "slot " << i;
    }
}

TEST(Histogram, MemoryIsFixedBySizeNotByCount) {
    histogram h(3'600'000'000ull, 3);
    const std::size_t slots = h.slot_count();
    EXPECT_LT(slots * sizeof(uint64_t), 256u * 1024u);
    for (uint64_t v = 1; v < 1'000'000; v += 7) {
        h.record(v * 997);
    }
    EXPECT_EQ(h.slot_count(), slots);
}

TEST(Histogram, PercentilesOfUniformValues) {
    histogram h(3'600'000'000ull, 3);
    for (uint64_t v = 1; v <= 100'000; ++v) {
        h.record(v);
    }
    EXPECT_EQ(h.count(), 100'000u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), 100'000u);
    EXPECT_NEAR(h.mean(), 50'000.5, 0.01);
    const auto near = [](uint64_t got, double want) {
        return std::abs(static_cast<double>(got) - want) <= want / 1000.0 + 1;
    };
    EXPECT_TRUE(near(h.percentile(50), 50'000)) << h.percentile(50);
    EXPECT_TRUE(near(h.percentile(95), 95'000)) << h.percentile(95);
    EXPECT_TRUE(near(h.percentile(99), 99'000)) << h.percentile(99);
    EXPECT_TRUE(near(h.percentile(99.9), 99'900)) << h.percentile(99.9);
    EXPECT_EQ(h.percentile(100), 100'000u);
    EXPECT_EQ(h.percentile(0), 1u);
}

TEST(Histogram, PercentileMatchesSortedSampleWithinPrecision) {
    histogram h(3'600'000'000ull, 3);
    prng rng(7);
    std::vector<uint64_t> values;
    for (int i = 0; i < 50'000; ++i) {
        // Long-tailed, like latencies: mostly small, some huge.
        const uint64_t v =
            rng.chance_ppm(10'000) ? rng.between(100'000, 5'000'000) : rng.between(50, 2'000);
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    // Per mille, so the reference rank is exact integer arithmetic.
    for (std::size_t per_mille : {500u, 900u, 990u, 999u}) {
        const double p = static_cast<double>(per_mille) / 10.0;
        const std::size_t rank = (per_mille * values.size() + 999) / 1000 - 1;
        const double want = static_cast<double>(values[rank]);
        const double got = static_cast<double>(h.percentile(p));
        EXPECT_GE(got, want) << "p" << p;
        EXPECT_LE(got, want * 1.001 + 1) << "p" << p;
    }
}

TEST(Histogram, MaxIsExactAndPercentilesNeverExceedIt) {
    histogram h(3'600'000'000ull, 3);
    h.record(123'456'789);
    EXPECT_EQ(h.max(), 123'456'789u);
    EXPECT_EQ(h.percentile(99.9), 123'456'789u);
}

TEST(Histogram, ValuesAboveTheRangeAreClampedAndCounted) {
    histogram h(1'000'000, 2);
    h.record(5);
    h.record(50'000'000);
    EXPECT_EQ(h.count(), 2u);
    EXPECT_EQ(h.saturated(), 1u);
    EXPECT_EQ(h.max(), 50'000'000u);
    EXPECT_GE(h.percentile(100), 1'000'000u * 99 / 100);
}

TEST(Histogram, MergeAddsCountsAndReset) {
    histogram a(3'600'000'000ull, 3);
    histogram b(3'600'000'000ull, 3);
    for (uint64_t v = 1; v <= 1000; ++v) {
        a.record(v);
        b.record(v + 1000);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), 2000u);
    EXPECT_EQ(a.min(), 1u);
    EXPECT_EQ(a.max(), 2000u);
    EXPECT_EQ(a.percentile(50), 1000u);
    a.reset();
    EXPECT_EQ(a.count(), 0u);
    EXPECT_EQ(a.percentile(99), 0u);
    EXPECT_EQ(a.max(), 0u);
    a.record_n(77, 5);
    EXPECT_EQ(a.count(), 5u);
    EXPECT_EQ(a.percentile(50), 77u);
}

TEST(Histogram, EmptyReportsZeros) {
    histogram h(1'000'000, 3);
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.percentile(50), 0u);
    EXPECT_EQ(h.mean(), 0.0);
}

}  // namespace
}  // namespace qmq::bench
