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
