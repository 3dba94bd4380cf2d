#pragma once

// Quorum rules of one voter set (a simple majority). The joint rules built on
// these live in joint.h. Both take the per-voter facts as a callable so the
// caller's progress table is not copied.

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>

#include "common/assert.h"
#include "raft/types.h"

namespace qmq::raft {

enum class vote_result { pending, won, lost };

// The largest value that a majority of `voters` has reached: with acked
// values sorted high to low, the one at position n/2. An empty set places no
// limit (so joint rules can take the min of both sets).
template <typename AckedFn>
uint64_t majority_committed(std::span<const node_id> voters, AckedFn&& acked) {
    if (voters.empty()) {
        return std::numeric_limits<uint64_t>::max();
    }
    QMQ_ASSERT(voters.size() <= voters_max);
    std::array<uint64_t, voters_max> values{};
    for (std::size_t i = 0; i < voters.size(); ++i) {
        values[i] = acked(voters[i]);
    }
    auto end = values.begin() + static_cast<std::ptrdiff_t>(voters.size());
    std::sort(values.begin(), end, std::greater<>());
    return values[voters.size() / 2];
}

// Election outcome for one set. `vote(id)` returns 1 granted, 0 rejected, -1
// not yet answered. Won with a majority of grants; lost once a majority can no
// longer be reached. An empty set always wins.
template <typename VoteFn>
vote_result majority_vote(std::span<const node_id> voters, VoteFn&& vote) {
    if (voters.empty()) {
        return vote_result::won;
    }
    std::size_t granted = 0;
    std::size_t missing = 0;
    for (auto id : voters) {
        const int v = vote(id);
        granted += v == 1 ? 1 : 0;
        missing += v < 0 ? 1 : 0;
    }
    const std::size_t need = voters.size() / 2 + 1;
    if (granted >= need) {
        return vote_result::won;
    }
    return granted + missing >= need ? vote_result::pending : vote_result::lost;
}

}  // namespace qmq::raft
