#pragma once

// The stamp at the head of every message body: which run, which producer,
// which sequence number (the channel's publish sequence, so confirms and
// consumes name the same message), which target slot, and when it was sent.
// The rest of the body is filler. Big-endian like everything on the wire.

#include <cstdint>
#include <optional>
#include <span>

namespace qmq::bench {

constexpr uint32_t stamp_magic = 0x514d5142;  // "QMQB"
constexpr uint32_t stamp_size = 32;

struct stamp {
    uint64_t run_id = 0;    // random per run: messages of other runs are ignored
    uint32_t producer = 0;  // producer index
    uint64_t seq = 0;       // 1-based publish sequence on the producer's channel
    uint64_t sent_ns = 0;   // CLOCK_MONOTONIC at publish (same host as consumers)
};

// Writes the stamp into the first stamp_size bytes of `body`.
void write_stamp(std::span<uint8_t> body, const stamp& s);

// Reads the stamp back; nullopt if the body is not ours (short or bad magic).
std::optional<stamp> read_stamp(std::span<const uint8_t> body);

uint64_t monotonic_ns();

}  // namespace qmq::bench
