#pragma once

// Quorum rules of a configuration, joint or not (Raft thesis §4.3): while
// joint, a value is committed only when a majority of C_old AND a majority of
// C_new have it, and an election is won only with both majorities. This is
// what keeps any two quorums intersecting during a membership change.

#include "raft/configuration.h"
#include "raft/majority.h"

namespace qmq::raft {

template <typename AckedFn>
uint64_t joint_committed(const configuration& c, AckedFn&& acked) {
    const uint64_t in = majority_committed(c.voters, acked);
    const uint64_t out = majority_committed(c.voters_outgoing, acked);
    return std::min(in, out);
}

template <typename VoteFn>
vote_result joint_vote(const configuration& c, VoteFn&& vote) {
    const vote_result in = majority_vote(c.voters, vote);
    const vote_result out = majority_vote(c.voters_outgoing, vote);
    if (in == vote_result::lost || out == vote_result::lost) {
        return vote_result::lost;
    }
    if (in == vote_result::won && out == vote_result::won) {
        return vote_result::won;
    }
    return vote_result::pending;
}

}  // namespace qmq::raft
