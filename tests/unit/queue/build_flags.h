#pragma once

// Whether this test binary runs slowly (sanitizers or no optimisation), so
// long randomized tests can run fewer streams there; the release build runs
// them all.

namespace qmq::queue::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

#if defined(NDEBUG)
inline constexpr bool optimized = true;
#else
inline constexpr bool optimized = false;
#endif

// Divisor for the number of random streams.
inline constexpr unsigned slow_build_divisor = (sanitized || !optimized) ? 5 : 1;

}  // namespace qmq::queue::testing
