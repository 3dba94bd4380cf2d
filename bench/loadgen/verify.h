#pragma once

// Checks that every confirmed message reached each queue it was routed to
// exactly once. Producers record which sequence numbers the broker confirmed;
// consumers record which (queue, producer, seq) they saw. One bit per message
// and queue, so a run of millions of messages costs a few MiB.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "loadgen/topology.h"

namespace qmq::bench {

// A growable set of small integers.
class bitset {
  public:
    // Sets bit i; returns whether it was already set.
    bool set(uint64_t i) {
        const uint64_t word = i / 64;
        if (word >= _words.size()) {
            _words.resize(std::max<std::size_t>(word + 1, _words.size() * 2), 0);
        }
        const uint64_t mask = uint64_t{1} << (i % 64);
        const bool was = (_words[word] & mask) != 0;
        _words[word] |= mask;
        return was;
    }
    bool test(uint64_t i) const {
        const uint64_t word = i / 64;
        return word < _words.size() && (_words[word] & (uint64_t{1} << (i % 64))) != 0;
    }
    // Ors `other` in; returns how many bits were set in both.
    uint64_t merge(const bitset& other);
    uint64_t popcount() const;

  private:
    std::vector<uint64_t> _words;
};

struct producer_record {
    uint64_t published = 0;  // seqs 1..published were sent
    bitset confirmed;        // seqs the broker acked
    uint64_t nacked = 0;
};

// What one consumer saw, keyed by (queue << 32 | producer).
struct consumer_record {
    std::unordered_map<uint64_t, bitset> seen;
    uint64_t duplicates = 0;  // seen twice by this consumer
    uint64_t foreign = 0;     // not stamped by this run

    static uint64_t key(uint32_t queue, uint32_t producer) {
        return (static_cast<uint64_t>(queue) << 32) | producer;
    }
    // Records a delivery; returns false if it was a duplicate.
    bool record(uint32_t queue, uint32_t producer, uint64_t seq) {
        if (seen[key(queue, producer)].set(seq)) {
            ++duplicates;
            return false;
        }
        return true;
    }
};

struct verify_result {
    uint64_t expected = 0;  // (confirmed message, target queue) pairs
    uint64_t missing = 0;   // of those, never consumed
    uint64_t duplicates = 0;
    uint64_t consumed_unconfirmed = 0;    // consumed, though never confirmed
    uint64_t unconsumed_unconfirmed = 0;  // neither confirmed nor consumed
    uint64_t unexpected = 0;              // consumed from a queue it was not routed to
    uint64_t foreign = 0;
    bool ok() const { return missing == 0; }
};

verify_result verify(const topology& t, const std::vector<producer_record>& producers,
                     const std::vector<const consumer_record*>& consumers);

}  // namespace qmq::bench
