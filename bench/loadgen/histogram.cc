#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/assert.h"

namespace qmq::bench {

histogram::histogram(uint64_t highest_trackable, int significant_digits)
    : _highest_trackable(highest_trackable) {
    QMQ_ASSERT(significant_digits >= 1 && significant_digits <= significant_digits_max);
    uint64_t largest_single_unit = 2;
    for (int i = 0; i < significant_digits; ++i) {
        largest_single_unit *= 10;
    }
    QMQ_ASSERT(highest_trackable >= largest_single_unit);
    QMQ_ASSERT(highest_trackable <= highest_trackable_max);
    _sub_bucket_count = std::bit_ceil(largest_single_unit);
    _sub_bucket_bits = std::countr_zero(_sub_bucket_count);
    _sub_bucket_half = _sub_bucket_count / 2;
    // Buckets needed so that the last one's range reaches highest_trackable.
    int buckets = 1;
    uint64_t covered = _sub_bucket_count;  // exclusive upper bound of bucket 0
    while (covered <= highest_trackable) {
        covered <<= 1;
        ++buckets;
    }
    _counts.assign(static_cast<std::size_t>(buckets + 1) * _sub_bucket_half, 0);
    QMQ_ASSERT(index_of(highest_trackable) < _counts.size());
}

std::size_t histogram::index_of(uint64_t value) const {
    const uint64_t mask = _sub_bucket_count - 1;
    const int bucket = std::bit_width(value | mask) - _sub_bucket_bits;
    const uint64_t sub = value >> bucket;
    return static_cast<std::size_t>(
        ((static_cast<uint64_t>(bucket) + 1) << (_sub_bucket_bits - 1)) + sub - _sub_bucket_half);
}

uint64_t histogram::lowest_equivalent(std::size_t index) const {
    const int half_bits = _sub_bucket_bits - 1;
    int bucket = static_cast<int>(index >> half_bits) - 1;
    uint64_t sub = (index & (_sub_bucket_half - 1)) + _sub_bucket_half;
    if (bucket < 0) {
        bucket = 0;
        sub -= _sub_bucket_half;
    }
    return sub << bucket;
}

uint64_t histogram::highest_equivalent(std::size_t index) const {
    const int half_bits = _sub_bucket_bits - 1;
    const int bucket = std::max(0, static_cast<int>(index >> half_bits) - 1);
    return lowest_equivalent(index) + (uint64_t{1} << bucket) - 1;
}

void histogram::record_n(uint64_t value, uint64_t count) {
    if (count == 0) {
        return;
    }
    _min = std::min(_min, value);
    _max = std::max(_max, value);
    _sum += static_cast<long double>(value) * count;
    _total += count;
    if (value > _highest_trackable) {
        _saturated += count;
        value = _highest_trackable;
    }
    const std::size_t i = index_of(value);
    QMQ_ASSERT(i < _counts.size());
    _counts[i] += count;
}

void histogram::merge(const histogram& other) {
    QMQ_ASSERT(other._counts.size() == _counts.size());
    QMQ_ASSERT(other._sub_bucket_count == _sub_bucket_count);
    if (other._total == 0) {
        return;
    }
    for (std::size_t i = 0; i < _counts.size(); ++i) {
        _counts[i] += other._counts[i];
    }
    _total += other._total;
    _min = std::min(_min, other._min);
    _max = std::max(_max, other._max);
    _sum += other._sum;
    _saturated += other._saturated;
}

void histogram::reset() {
    std::fill(_counts.begin(), _counts.end(), 0);
    _total = 0;
    _min = ~uint64_t{0};
    _max = 0;
    _saturated = 0;
    _sum = 0;
}

double histogram::mean() const {
    return _total ? static_cast<double>(_sum / _total) : 0.0;
}

uint64_t histogram::percentile(double percentile) const {
    if (_total == 0) {
        return 0;
    }
    percentile = std::clamp(percentile, 0.0, 100.0);
    // The rank of the value asked for, 1-based: ceil(p% of total), at least 1.
    // (Less a hair: 99.9 / 100 * 1000 is 999.0000000000001 in doubles.)
    const double rank = percentile / 100.0 * static_cast<double>(_total);
    auto target = static_cast<uint64_t>(std::ceil(rank - rank * 1e-12));
    target = std::clamp<uint64_t>(target, 1, _total);
    uint64_t seen = 0;
    for (std::size_t i = 0; i < _counts.size(); ++i) {
        seen += _counts[i];
        if (seen >= target) {
            return std::min(highest_equivalent(i), _max);
        }
    }
    QMQ_UNREACHABLE();
}

}  // namespace qmq::bench
