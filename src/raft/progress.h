#pragma once

// What a leader knows about one follower (or learner), and the replication
// mode it is in (etcd's tracker): probe sends one append at a time until the
// follower's position is found, replicate streams appends up to the inflight
// bounds, snapshot sends InstallSnapshot chunks until the follower has it.

#include <cstdint>

#include "raft/inflights.h"
#include "raft/types.h"

namespace qmq::raft {

enum class progress_state : uint8_t { probe, replicate, snapshot };

struct progress {
    progress(log_index next_index, uint32_t inflight_count_max, uint64_t inflight_bytes_max)
        : next(next_index), inflight(inflight_count_max, inflight_bytes_max) {}

    log_index match;  // highest index known durable and matching on the follower
    log_index next;   // next index to send
    progress_state state = progress_state::probe;
    bool probe_sent = false;       // probe: an append is out, wait for its answer
    bool recent_active = false;    // heard from since the last check-quorum round
    log_index pending_snapshot;    // snapshot: the index of the snapshot being sent
    uint64_t snapshot_offset = 0;  // snapshot: the next byte the follower wants
    uint64_t read_ack = 0;         // highest ReadIndex round the follower answered
    inflights inflight;

    bool paused() const;
    void become_probe();
    void become_replicate();
    void become_snapshot(log_index snap_index);

    // An acknowledgement of n: true if it moved match forward.
    bool maybe_update(log_index n);
    // A rejection of the append after `rejected`, with the next index to try
    // from the follower's hint. False if the rejection is stale.
    bool maybe_decr_to(log_index rejected, log_index match_hint);
    // Optimistic bookkeeping after sending entries up to `last`.
    void sent_entries(log_index last, uint64_t size);
};

}  // namespace qmq::raft
