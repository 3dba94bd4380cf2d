#pragma once

// A simulated durable store for one node. Hard state and snapshots are
// written synchronously (the runtime fsyncs them before sending, see
// raft/output.h); entry writes complete asynchronously, in order, after a
// delay (a slow disk has a long one). A crash loses every write not yet
// complete: exactly the state a real node restarts from.

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "raft/fsm.h"

namespace qmq::sim {

class disk {
  public:
    disk(raft::snapshot_meta initial) { _snap = std::move(initial); }

    void save_hard_state(const raft::hard_state& hs) { _hard = hs; }
    // A snapshot taken locally (at an index already durable here): entries
    // up to its index go.
    void save_local_snapshot(const raft::snapshot& s);
    // A snapshot received from a leader replaces the whole log, including
    // any entry write still in progress.
    void save_received_snapshot(const raft::snapshot& s);
    // Starts an entry write (truncate at entries.front().index, append) that
    // completes at `ready_at` (not before any earlier write).
    void start_append(std::vector<raft::log_entry> entries, uint64_t ready_at);
    // Completes due writes; the (term, index) now durable, if any completed.
    std::optional<std::pair<raft::term_t, raft::log_index>> complete_due(uint64_t now);
    // Loses every incomplete write.
    void crash() { _pending.clear(); }
    raft::durable_state load(bool forget_vote) const;

    std::size_t pending_writes() const { return _pending.size(); }
    const std::vector<raft::log_entry>& entries() const { return _entries; }

  private:
    struct write {
        uint64_t ready_at;
        std::vector<raft::log_entry> entries;
    };
    void apply(write& w);

    raft::hard_state _hard;
    raft::snapshot_meta _snap;
    std::shared_ptr<const bytes> _snap_data;
    std::vector<raft::log_entry> _entries;  // _snap.index+1 ..
    std::deque<write> _pending;
};

}  // namespace qmq::sim
