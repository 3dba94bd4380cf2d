#pragma once

// The numbers of the Raft core, as types that do not mix. Terms and indexes
// are 64-bit so that they never wrap in the life of a cluster (Qpid's 32-bit
// sequence numbers did, see DESIGN.md).

#include <cstdint>

#include "common/strong_type.h"

namespace qmq::raft {

using node_id = strong_type<uint64_t, struct node_id_tag>;
using group_id = strong_type<uint64_t, struct group_id_tag>;
using term_t = strong_type<uint64_t, struct term_tag>;
using log_index = strong_type<uint64_t, struct log_index_tag>;

// Node 0 means "nobody": no vote cast, no leader known.
inline constexpr node_id no_node{0};

// A group has few voters; quorum arithmetic uses fixed arrays of this size.
inline constexpr std::size_t voters_max = 16;

}  // namespace qmq::raft
