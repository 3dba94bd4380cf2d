#pragma once

// A seeded pseudo-random generator (xoshiro256**, seeded through splitmix64).
// Pure cores receive one of these instead of reading global randomness, so a
// simulation run is reproduced exactly from its seed.

#include <cstdint>

#include "common/assert.h"

namespace qmq {

class prng {
  public:
    explicit prng(uint64_t seed) {
        for (auto& word : _s) {
            word = splitmix64(seed);
        }
    }

    using result_type = uint64_t;
    static constexpr uint64_t min() { return 0; }
    static constexpr uint64_t max() { return ~uint64_t{0}; }
    uint64_t operator()() { return next(); }

    uint64_t next() {
        const uint64_t result = rotl(_s[1] * 5, 7) * 9;
        const uint64_t t = _s[1] << 17;
        _s[2] ^= _s[0];
        _s[3] ^= _s[1];
        _s[1] ^= _s[2];
        _s[0] ^= _s[3];
        _s[2] ^= t;
        _s[3] = rotl(_s[3], 45);
        return result;
    }

    // Uniform in [0, bound), bound > 0 (Lemire's multiply-shift; bias is
    // negligible for simulation use).
    uint64_t below(uint64_t bound) {
        QMQ_ASSERT(bound > 0);
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
    }

    // Uniform in [lo, hi], lo <= hi.
    uint64_t between(uint64_t lo, uint64_t hi) {
        QMQ_ASSERT(lo <= hi);
        return lo + below(hi - lo + 1);
    }

    // True with probability per_million / 1'000'000.
    bool chance_ppm(uint32_t per_million) { return below(1'000'000) < per_million; }

  private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static uint64_t splitmix64(uint64_t& x) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    uint64_t _s[4];
};

}  // namespace qmq
