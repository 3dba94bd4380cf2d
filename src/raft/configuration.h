#pragma once

// Group membership. Outside a change it is one voter set; during a joint
// consensus change (Raft thesis §4.3) it is C_new in `voters` and C_old in
// `voters_outgoing`, and every decision needs a majority of both.

#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "raft/types.h"

namespace qmq::raft {

struct configuration {
    std::vector<node_id> voters;           // sorted, unique; C_new while joint
    std::vector<node_id> voters_outgoing;  // sorted, unique; C_old while joint, else empty
    std::vector<node_id> learners;         // sorted, unique; receive the log, never vote

    bool joint() const { return !voters_outgoing.empty(); }
    bool is_voter(node_id id) const;  // in either voter set
    bool is_learner(node_id id) const;
    bool contains(node_id id) const { return is_voter(id) || is_learner(id); }
    // Every member (voters of both sets and learners), sorted, unique.
    std::vector<node_id> members() const;

    bool operator==(const configuration&) const = default;
};

// Sorts and removes duplicates (so callers may pass ids in any order).
std::vector<node_id> normalized(std::vector<node_id> ids);

// The payload of a configuration log entry: three counted lists of u64.
bytes encode_configuration(const configuration& c);
result<configuration> decode_configuration(bytes_view data);

}  // namespace qmq::raft
