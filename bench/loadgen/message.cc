#include "loadgen/message.h"

#include <time.h>

#include "common/assert.h"

namespace qmq::bench {

namespace {

void put(uint8_t* p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        p[i] = static_cast<uint8_t>(v & 0xFF);
        v >>= 8;
    }
}

uint64_t get(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}

}  // namespace

// Layout: magic u32 | producer u32 | run_id u64 | seq u64 | sent_ns u64.
void write_stamp(std::span<uint8_t> body, const stamp& s) {
    QMQ_ASSERT(body.size() >= stamp_size);
    uint8_t* p = body.data();
    put(p, stamp_magic, 4);
    put(p + 4, s.producer, 4);
    put(p + 8, s.run_id, 8);
    put(p + 16, s.seq, 8);
    put(p + 24, s.sent_ns, 8);
}

std::optional<stamp> read_stamp(std::span<const uint8_t> body) {
    if (body.size() < stamp_size) {
        return std::nullopt;
    }
    const uint8_t* p = body.data();
    if (get(p, 4) != stamp_magic) {
        return std::nullopt;
    }
    stamp s;
    s.producer = static_cast<uint32_t>(get(p + 4, 4));
    s.run_id = get(p + 8, 8);
    s.seq = get(p + 16, 8);
    s.sent_ns = get(p + 24, 8);
    return s;
}

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace qmq::bench
