#pragma once

// The appends a leader has sent to one follower and not yet seen acknowledged,
// bounded both in messages and in bytes: pipelining without letting one slow
// follower make the leader buffer without limit.

#include <cstdint>
#include <deque>

#include "raft/types.h"

namespace qmq::raft {

class inflights {
  public:
    inflights(uint32_t count_max, uint64_t bytes_max)
        : _count_max(count_max), _bytes_max(bytes_max) {}

    // Records an append whose last entry is `last` carrying `size` bytes.
    void add(log_index last, uint64_t size);
    // Forgets every append whose last entry is <= to (the follower has it).
    void free_le(log_index to);
    // Forgets the oldest append (a heartbeat answer while full: a message was
    // probably lost, let one more through).
    void free_first();
    void reset();

    bool full() const { return _items.size() >= _count_max || _bytes >= _bytes_max; }
    std::size_t count() const { return _items.size(); }
    uint64_t bytes_in_flight() const { return _bytes; }

  private:
    struct item {
        log_index last;
        uint64_t size;
    };
    uint32_t _count_max;
    uint64_t _bytes_max;
    uint64_t _bytes = 0;
    std::deque<item> _items;
};

}  // namespace qmq::raft
