#pragma once

// What one group asks its runtime to do, returned by fsm::take_output(). The
// runtime carries it out IN THIS ORDER:
//
//   1. persist_hard_state, persist_snapshot  -- synchronously, before anything
//      below is sent or applied. A vote or term sent before it is durable can
//      be forgotten by a crash (two leaders); an ack for a snapshot not yet
//      durable can lose committed data.
//   2. persist_entries -- start writing; need NOT be finished before 3 or 4.
//      Truncate the stored log at persist_entries.front().index, then append.
//      When the write is durable, call fsm::on_durable(last.term, last.index).
//      Acks that depend on it are produced by the core only after that call,
//      so the leader's disk and its followers' disks are written in parallel.
//   3. send -- hand each message to the transport (any order, may be batched
//      per destination node with other groups' messages).
//   4. load_snapshot (same as persist_snapshot) into the state machine, then
//      apply `apply` in order. Entries may be applied before they are durable
//      locally: they are durable on a quorum.
//   5. reads -- serve each read once the applied index reaches read.index.
//
// Persisting a received snapshot replaces the whole stored log, including
// entry writes still in progress. A local snapshot (fsm::compact) is taken at
// an index already durable, and drops stored entries up to it.

#include <optional>
#include <vector>

#include "raft/entry.h"
#include "raft/message.h"

namespace qmq::raft {

enum class role : uint8_t { follower, pre_candidate, candidate, leader };

const char* to_string(role r);

// A ReadIndex request that may now be served: once applied >= index, a read
// of the state machine is linearizable (thesis §6.4).
struct read_state {
    uint64_t context = 0;
    log_index index;
};

struct output {
    std::optional<hard_state> persist_hard_state;
    std::optional<snapshot> persist_snapshot;  // received from a leader: also load it
    std::vector<log_entry> persist_entries;
    std::vector<message> send;
    std::vector<log_entry> apply;
    std::vector<read_state> reads;

    // Informational (no ordering rule): who leads, as far as we know.
    node_id leader;
    role current_role = role::follower;

    bool empty() const {
        return !persist_hard_state && !persist_snapshot && persist_entries.empty() &&
               send.empty() && apply.empty() && reads.empty();
    }
};

}  // namespace qmq::raft
