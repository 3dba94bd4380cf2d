#pragma once

// The single-member log of a durable classic queue, in the node's one
// log_store: every machine command the queue applies is appended (an
// enqueue of a persistent message carries the message), replayed through
// the machine at start, and compacted through the machine's own release
// cursor: a snapshot of the state goes to the state_store, then the log is
// released below it except the enqueue entries of live messages (their
// bodies are read from there).
//
// Replay skips transient enqueues (they do not survive a restart) and
// ignores effects other than freeing bodies; the consumers of the previous
// run are gone, so the caller sends `down` for every owner that may still
// hold some (stale_owners), which returns their messages to the queue.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "broker/durable_engine.h"
#include "broker/log_message_store.h"
#include "queue/machine.h"

namespace qmq::broker {

struct durable_recovery {
    uint64_t last_index = 0;
    uint64_t last_consumer = 0;
    std::vector<queue::owner_id> stale_owners;
    uint64_t replayed = 0;  // commands applied from the log
    uint64_t messages = 0;  // persistent messages live after replay
};

class durable_queue {
  public:
    durable_queue(durable_engine& engine, storage::group_id group);

    storage::group_id group() const { return _group; }

    // Rebuilds `state` and `store` from the snapshot and the log. `state` is
    // a fresh state of the queue's declared config (kept if the log is empty
    // or the previous incarnation was deleted).
    result<durable_recovery> recover(queue::queue_state& state, log_message_store& store);

    // Appends the command applied at `index` (msg: the persistent message
    // of an enqueue, else null). Failures are logged; confirms see them.
    void append(uint64_t index, uint64_t time_ms, const queue::command& cmd, const message* msg);
    uint64_t last_appended() const { return _last_appended; }

    // The machine's release cursor: snapshot `state` (taken right after the
    // command at rc.snapshot_index) and compact the log behind it.
    void on_release_cursor(const queue::release_cursor& rc, const queue::queue_state& state);
    // The queue was deleted at `index`: its log and snapshot are released so
    // a later queue of the same name starts empty.
    void on_deleted(uint64_t index);

  private:
    void track(const queue::command& cmd, const queue::reply& r);
    bytes snapshot_meta(bool deleted, uint64_t release, const std::vector<uint64_t>& live) const;

    durable_engine& _engine;
    storage::group_id _group;
    uint64_t _last_appended = 0;
    uint64_t _last_snapshot = 0;
    uint64_t _last_consumer = 0;
    std::set<uint64_t> _owners;  // owners that may hold consumers in the state
    bool _failed = false;        // an append was refused: stop appending
    bytes _buf;
};

}  // namespace qmq::broker
