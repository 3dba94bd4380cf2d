#pragma once

// Tunables of one group. Every bound has a name and a default; the runtime
// may share one options object among thousands of groups.

#include <cstdint>

namespace qmq::raft {

// Rules the simulator can break on purpose to prove it notices (test only;
// never set in production). Each is a one-line deviation in the core.
struct injected_bugs {
    bool no_election_restriction = false;  // grant votes to out-of-date logs
    bool count_non_durable = false;        // leader counts its unsynced tail, followers ack early
    bool commit_earlier_term = false;      // commit an old-term entry by counting replicas
};

struct options {
    uint32_t election_ticks = 10;  // election timeout; randomized in [e, 2e)
    uint32_t heartbeat_ticks = 1;
    bool pre_vote = true;
    bool check_quorum = true;

    uint32_t append_entries_max = 256;       // entries per append message
    uint64_t append_bytes_max = 1 << 20;     // bytes per append message
    uint32_t inflight_msgs_max = 64;         // per follower
    uint64_t inflight_bytes_max = 16 << 20;  // per follower
    uint64_t snapshot_chunk_bytes = 256 << 10;
    uint32_t pending_reads_max = 4096;  // ReadIndex requests queued at a leader

    injected_bugs bugs;
};

}  // namespace qmq::raft
