#pragma once

// The node's durable storage as the broker sees it: the one storage::log_store
// (every durable classic queue is a single-member log in it) and the
// state_store (queue snapshots), plus the waiters for durability: a
// publisher confirm for a persistent message waits here until the WAL
// writer reports its entry fdatasync'd (one fdatasync serves every entry of
// a batch: group commit).
//
// Threads: the log store's writer thread and the engine's snapshot thread
// only call the on_ready callback given to open(), which must post drain()
// to the event loop; everything else, including drain(), runs on the loop.
// Snapshots are written (and fsync'd) on the snapshot thread, so a large
// queue's snapshot never stalls the loop; their completions (release
// points) come back through drain().

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "storage/log_store.h"
#include "storage/state_store.h"

namespace qmq::broker {

class broker;
class durable_queue;

// Writes a whole snapshot (chunked) and commits it (fsync, rename).
result<void> write_snapshot(storage::state_store& states, storage::group_id g,
                            const storage::snapshot_meta& meta, bytes_view data);

class durable_engine {
  public:
    // Opens (and recovers) the stores under `dir`. on_ready is called on the
    // WAL writer thread when notices wait: post drain() to the loop.
    static result<std::unique_ptr<durable_engine>> open(const std::string& dir,
                                                        std::function<void()> on_ready);
    ~durable_engine();

    storage::log_store& log() { return *_log; }
    storage::state_store& states() { return _states; }

    // The log of durable queue `queue` in `vhost` (stable across restarts).
    static storage::group_id group_for(std::string_view vhost, std::string_view queue);

    // Calls done(true) once entry `index` of `g` is durable, done(false) if
    // it failed to be written. May call at once when already durable.
    void when_durable(storage::group_id g, uint64_t index, std::function<void(bool)> done);
    // Takes the log store's notices, hands each to its queue and runs the
    // waiters they satisfy, then the at_drain_end callbacks they queued.
    void drain();
    // Runs `fn` once the current drain() has run every waiter (so that what
    // one drain decides, e.g. publisher confirms, leaves together); at once
    // when called outside drain().
    void at_drain_end(std::function<void()> fn);
    // Entry `index` of `g` was applied but not appended (the queue is
    // degraded): a waiter for it is answered done(false).
    void refuse(storage::group_id g, uint64_t index);

    // The running queue of log `g` gets its notices (durable_queue.h).
    void attach(storage::group_id g, durable_queue* q);
    void detach(storage::group_id g, durable_queue* q);
    // A queue whose log refused writes; tick() tries to resume it.
    void note_degraded(storage::group_id g);
    // Periodic (every server tick, ~100 ms): resumes degraded queues and
    // runs deferred disk work once the log store accepts writes again.
    void tick();
    // Disk work that failed because the disk refuses writes; retried by
    // tick() until it returns true.
    void retry_later(std::function<bool()> job);
    // Set while the WAL refuses writes (disk full, EIO): publishers should
    // be blocked as for the disk alarm. The reason, for the log line.
    std::optional<std::string> writes_refused() const;
    std::size_t degraded_queues() const { return _degraded.size(); }

    // A deleted queue's log is released once its last entry is durable;
    // until then a queue of the same name must not replay it.
    void set_deleting(storage::group_id g, std::optional<uint64_t> index);
    std::optional<uint64_t> deleting(storage::group_id g) const;

    // Writes a snapshot of `g` on the snapshot thread (off the event loop;
    // jobs run in order). done(result) runs on the event loop, from drain().
    void write_snapshot_async(storage::group_id g, storage::snapshot_meta meta, bytes data,
                              std::function<void(const result<void>&)> done);
    // Writes a snapshot of `g` now, on the calling thread, after the queued
    // ones (rare paths: resuming after a disk error, a deferred deletion).
    result<void> write_snapshot_now(storage::group_id g, const storage::snapshot_meta& meta,
                                    bytes_view data);
    // Blocks until every queued snapshot is written (before a synchronous
    // snapshot write or read of the same group). Returns how many waited.
    std::size_t flush_snapshots();

    // Durable exchanges, queues and bindings (durable_metadata.h): restored
    // once at start, then the file is rewritten whenever they changed.
    result<void> load_metadata(broker& b);
    void save_metadata_if_changed(broker& b);

  private:
    durable_engine(std::string dir) : _states(std::move(dir)) {}
    void snapshot_loop();
    void drain_notices();

    struct snapshot_job {
        storage::group_id group;
        storage::snapshot_meta meta;
        bytes data;
        std::function<void(const result<void>&)> done;
        result<void> outcome = ok_result();
    };

    struct group_waiters {
        uint64_t durable_up_to = 0;
        uint64_t refused_from = 0;  // [from, to]: applied but never appended
        uint64_t refused_to = 0;
        std::multimap<uint64_t, std::function<void(bool)>> waiting;  // by index
    };

    std::unique_ptr<storage::log_store> _log;
    storage::state_store _states;
    std::unordered_map<uint64_t, group_waiters> _waiters;
    bool _draining = false;
    std::vector<std::function<void()>> _drain_end;  // at_drain_end callbacks
    bytes _saved_metadata;
    bool _metadata_failing = false;  // log a failed save once, not every tick
    std::unordered_map<uint64_t, durable_queue*> _queues;
    std::vector<uint64_t> _degraded;
    std::vector<std::function<bool()>> _retries;
    // Highest snapshot index queued or written per group: an older one
    // arriving late (its durable notice drained after a resume snapshot)
    // must not replace a newer one.
    std::unordered_map<uint64_t, uint64_t> _snap_index;

    // Snapshot thread. _snap_mu guards the queues; the thread alone writes.
    std::function<void()> _on_ready;
    std::mutex _snap_mu;
    std::condition_variable _snap_cv;
    std::deque<snapshot_job> _snap_jobs;
    std::vector<snapshot_job> _snap_done;
    bool _snap_busy = false;
    bool _snap_stop = false;
    std::thread _snap_thread;
    std::unordered_map<uint64_t, uint64_t> _deleting;  // group -> deleted at index
};

}  // namespace qmq::broker
