#pragma once

// The one place the server reads time: a monotonic millisecond count handed
// to the pure cores (amqp::connection, broker) as a value.

#include <chrono>
#include <cstdint>

namespace qmq::server {

inline uint64_t monotonic_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace qmq::server

namespace qmq::server {

// Wall-clock milliseconds since the Unix epoch, for the broker: it stamps
// x-death times and message expiry with it (and clamps steps backwards).
inline uint64_t wall_clock_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace qmq::server
