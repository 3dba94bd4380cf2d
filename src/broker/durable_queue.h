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
//
// Disk errors: when the log refuses an append (ENOSPC, EIO) or reports one
// failed, the queue becomes *degraded*: the machine keeps running in memory
// (acks, deliveries), commands are not appended, persistent publishes are
// nacked (their bodies stay in memory, never evicted), and the log ends at
// its last durable entry L. Once the log store accepts writes again,
// try_resume() writes a snapshot of the state at the last applied index M
// (the bodies of live messages that are not in the log go inside it), then
// fills L+1..M with gap entries (no command, skipped by replay) so the log
// is dense again, and appending continues at M+1. A crash before that
// snapshot recovers the state at L (the degraded commands are lost: nacked
// publishes gone, acks redelivered); after it, exactly the state at M.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
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
    ~durable_queue();
    durable_queue(const durable_queue&) = delete;
    durable_queue& operator=(const durable_queue&) = delete;

    storage::group_id group() const { return _group; }

    // Rebuilds `state` and `store` from the snapshot and the log. `state` is
    // a fresh state of the queue's declared config (kept if the log is empty
    // or the previous incarnation was deleted).
    result<durable_recovery> recover(queue::queue_state& state, log_message_store& store);
    // The live state and store of the running queue (owned by the caller,
    // outliving this object); registers with the engine for its notices.
    void attach(const queue::queue_state& state, log_message_store& store);

    // Appends the command applied at `index` (msg: the persistent message
    // of an enqueue, else null). Returns false when it was not appended
    // (degraded: the confirm of its message is a nack).
    bool append(uint64_t index, uint64_t time_ms, const queue::command& cmd, const message* msg);
    uint64_t last_appended() const { return _last_appended; }
    bool degraded() const { return _degraded; }

    // The machine's release cursor: snapshot `state` (taken right after the
    // command at rc.snapshot_index) and compact the log behind it.
    void on_release_cursor(const queue::release_cursor& rc, const queue::queue_state& state);
    // The queue was deleted at `index`: its log and snapshot are released so
    // a later queue of the same name starts empty.
    void on_deleted(uint64_t index);

    // From durable_engine::drain(): one notice of this queue's log.
    void on_notice(const storage::durable_notice& n);
    // From durable_engine::tick() while degraded: resume when the log store
    // accepts writes again. Returns true once no longer degraded.
    bool try_resume();

  private:
    void track(const queue::command& cmd);
    void enter_degraded(uint64_t from, const std::string& why);
    bool append_gap(uint64_t from, uint64_t to);
    bytes snapshot_meta(bool deleted, uint64_t release, const std::vector<uint64_t>& live) const;
    bytes snapshot_data(const queue::queue_state& state) const;

    durable_engine& _engine;
    storage::group_id _group;
    const queue::queue_state* _state = nullptr;
    log_message_store* _store = nullptr;
    uint64_t _last_appended = 0;
    uint64_t _applied = 0;   // last index the machine applied (appended or not)
    uint64_t _log_last = 0;  // last index in the log (0: the group is empty)
    uint64_t _last_snapshot = 0;
    uint64_t _last_consumer = 0;
    std::set<uint64_t> _owners;  // owners that may hold consumers in the state
    bool _degraded = false;
    uint64_t _degraded_commands = 0;  // applied but not appended, this episode
    uint64_t _nacked = 0;             // persistent publishes refused, this episode
    std::optional<uint64_t> _deleted_at;
    int64_t _next_attempt_ms = 0;  // steady clock; resume attempts back off
    bytes _buf;
};

}  // namespace qmq::broker
