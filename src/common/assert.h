#pragma once

// Always-on assertions. An invariant that fails means the process state can
// no longer be trusted, so we abort with the location and condition instead of
// carrying on; these stay enabled in release builds (TigerBeetle's rule).

#include <cstdio>
#include <cstdlib>

namespace qmq::detail {

[[noreturn]] inline void assert_failed(const char* condition, const char* file, int line,
                                       const char* message) {
    std::fprintf(stderr, "assertion failed: %s at %s:%d%s%s\n", condition, file, line,
                 message ? ": " : "", message ? message : "");
    std::fflush(stderr);
    std::abort();
}

}  // namespace qmq::detail

#define QMQ_ASSERT(cond)                                                      \
    do {                                                                      \
        if (!(cond)) [[unlikely]] {                                           \
            ::qmq::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr); \
        }                                                                     \
    } while (0)

#define QMQ_ASSERT_MSG(cond, msg)                                           \
    do {                                                                    \
        if (!(cond)) [[unlikely]] {                                         \
            ::qmq::detail::assert_failed(#cond, __FILE__, __LINE__, (msg)); \
        }                                                                   \
    } while (0)

#define QMQ_UNREACHABLE() ::qmq::detail::assert_failed("unreachable", __FILE__, __LINE__, nullptr)
