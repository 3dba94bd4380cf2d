#include "loadgen/verify.h"

#include <bit>

namespace qmq::bench {

uint64_t bitset::merge(const bitset& other) {
    if (other._words.size() > _words.size()) {
        _words.resize(other._words.size(), 0);
    }
    uint64_t both = 0;
    for (std::size_t i = 0; i < other._words.size(); ++i) {
        both += static_cast<uint64_t>(std::popcount(_words[i] & other._words[i]));
        _words[i] |= other._words[i];
    }
    return both;
}

uint64_t bitset::popcount() const {
    uint64_t n = 0;
    for (uint64_t w : _words) {
        n += static_cast<uint64_t>(std::popcount(w));
    }
    return n;
}

verify_result verify(const topology& t, const std::vector<producer_record>& producers,
                     const std::vector<const consumer_record*>& consumers) {
    verify_result r;
    // Two consumers of one queue may both have seen a message: merge, and
    // count the overlap as duplicates too.
    std::unordered_map<uint64_t, bitset> seen;
    uint64_t seen_total = 0;
    for (const consumer_record* c : consumers) {
        r.duplicates += c->duplicates;
        r.foreign += c->foreign;
        for (const auto& [key, bits] : c->seen) {
            r.duplicates += seen[key].merge(bits);
        }
    }
    for (const auto& [key, bits] : seen) {
        seen_total += bits.popcount();
    }
    uint64_t matched = 0;
    for (uint32_t p = 0; p < producers.size(); ++p) {
        const producer_record& pr = producers[p];
        for (uint64_t seq = 1; seq <= pr.published; ++seq) {
            const bool confirmed = pr.confirmed.test(seq);
            for (uint32_t q : t.route_of(p, seq).queues) {
                const auto it = seen.find(consumer_record::key(q, p));
                const bool consumed = it != seen.end() && it->second.test(seq);
                matched += consumed ? 1 : 0;
                if (confirmed) {
                    ++r.expected;
                    r.missing += consumed ? 0 : 1;
                } else if (consumed) {
                    ++r.consumed_unconfirmed;
                } else {
                    ++r.unconsumed_unconfirmed;
                }
            }
        }
    }
    r.unexpected = seen_total - matched;
    return r;
}

}  // namespace qmq::bench
