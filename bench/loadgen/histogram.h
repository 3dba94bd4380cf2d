#pragma once

// A fixed-memory latency histogram after HdrHistogram's design: values are
// kept in buckets of exponentially growing width, each split into the same
// number of linear sub-buckets, so every recorded value is known to within a
// relative error of 10^-significant_digits while the counts array has a size
// fixed at construction (a few hundred KiB at most, no allocation after).
//
// Layout: bucket 0 covers [0, sub_bucket_count) exactly, one count per value.
// Bucket b >= 1 covers [sub_bucket_count << (b-1), sub_bucket_count << b) in
// sub_bucket_count/2 slots of width 2^b (its lower half is bucket b-1's range).
// Values above the highest trackable value are clamped and counted apart.

#include <cstdint>
#include <vector>

namespace qmq::bench {

class histogram {
  public:
    static constexpr int significant_digits_max = 5;
    static constexpr uint64_t highest_trackable_max = uint64_t{1} << 62;

    // significant_digits in [1, 5]; highest_trackable >= 2 * 10^digits.
    histogram(uint64_t highest_trackable, int significant_digits);

    void record(uint64_t value) { record_n(value, 1); }
    void record_n(uint64_t value, uint64_t count);

    // Adds every count of `other`, which must have the same shape.
    void merge(const histogram& other);
    void reset();

    uint64_t count() const { return _total; }
    uint64_t min() const { return _total ? _min : 0; }
    uint64_t max() const { return _max; }  // exact, even when clamped
    double mean() const;
    uint64_t saturated() const { return _saturated; }

    // The smallest recorded value v such that `percentile` % of all values are
    // <= v, reported as the highest value equivalent to v's slot (HDR's
    // convention), but never above the exact max. 0 when empty.
    uint64_t percentile(double percentile) const;

    // Slot arithmetic, public for tests.
    std::size_t index_of(uint64_t value) const;
    uint64_t lowest_equivalent(std::size_t index) const;
    uint64_t highest_equivalent(std::size_t index) const;
    std::size_t slot_count() const { return _counts.size(); }
    uint64_t highest_trackable() const { return _highest_trackable; }

  private:
    uint64_t _highest_trackable;
    int _sub_bucket_bits;        // log2(sub_bucket_count)
    uint64_t _sub_bucket_count;  // smallest power of two >= 2 * 10^digits
    uint64_t _sub_bucket_half;
    std::vector<uint64_t> _counts;
    uint64_t _total = 0;
    uint64_t _min = ~uint64_t{0};
    uint64_t _max = 0;
    uint64_t _saturated = 0;
    long double _sum = 0;
};

}  // namespace qmq::bench
