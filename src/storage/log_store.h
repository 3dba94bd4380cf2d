#pragma once

// The node's log store: one write-ahead log shared by every group on the
// node (Raft groups of quorum queues, single-member logs of durable classic
// queues), per-group segment files, release points and live-set compaction.
// Modelled on RabbitMQ's Ra log; file formats in format.h and docs/storage.md.
//
//   append(g, entries) ──► in-memory index + write cache ──► WAL writer thread
//        (any thread)                                       batch, write, fdatasync
//                                                                  │
//   take_durable() ◄── durable_notice (group, first..last, term) ◄─┘
//
//   WAL file full ──► segment thread: copies each group's entries of that
//   file into the group's segments (skipping released ones), syncs them,
//   deletes the WAL file; deletes and compacts segments below release points.
//
// Threads: every method may be called from any thread. Calls for one group
// must come from one thread at a time (its owner shard); the store orders
// them as they arrive. No method waits for the disk except read()/term_at()
// (which may read segments or WAL files) and the explicit sync helpers.
//
// Memory: per entry still in the WAL, one 24-byte index slot; per entry in
// segments, only the sparse index (24 bytes per 64 KiB of records) once the
// segment is first read; payloads only in the bounded write cache.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "storage/segment.h"
#include "storage/types.h"
#include "storage/wal_writer.h"

namespace qmq::storage {

struct log_store_options {
    std::string dir;                             // data directory (created if missing)
    std::string node_id;                         // written into every file header, at most 84 bytes
    uint64_t wal_file_bytes_max = 64u << 20;     // WAL rollover size
    uint64_t batch_bytes_max = 4u << 20;         // group commit size bound
    uint64_t segment_bytes_max = 64u << 20;      // a group's segment rollover size
    uint64_t write_cache_bytes_max = 64u << 20;  // recent batches kept in memory
    uint64_t read_bytes_max = 16u << 20;         // one read() returns at most this much
    // A segment wholly below the release point is rewritten when at least
    // this percentage of its records is dead.
    uint32_t compaction_dead_percent_min = 50;
    uint32_t write_retry_ms = 100;  // after a write error, try a new WAL file this often
    // Called on the WAL writer thread when notices are ready to take; must
    // not block (post to your event loop, or signal a condition variable).
    std::function<void()> on_durable;
};

// What recovery found for one group.
struct group_recovery {
    group_id group;
    log_index first;  // lowest stored index (0: no entries)
    log_index last;   // highest stored index (0: no entries)
    term_t last_term;
    std::string error;  // non-empty: the group refuses to start, and why
};

struct log_store_stats {
    uint64_t groups = 0;
    uint64_t wal_entries = 0;  // entries indexed per entry (not yet in segments)
    uint64_t index_bytes = 0;  // memory of per-entry and sparse indexes
    uint64_t cache_bytes = 0;  // write cache payload bytes
    uint64_t wal_files = 0;
    uint64_t segments = 0;
    uint64_t wal_batches = 0;  // = fdatasyncs of the WAL
    uint64_t segments_compacted = 0;
    uint64_t segments_deleted = 0;
};

class log_store final : private wal_writer::listener {
  public:
    // Recovers the data directory and starts the writer and segment threads.
    // Fails only when the store as a whole cannot run (unusable directory);
    // damage confined to groups is reported in recovered().
    static result<std::unique_ptr<log_store>> open(log_store_options opts);
    ~log_store() override;

    const std::vector<group_recovery>& recovered() const { return _recovered; }

    // Appends consecutive entries to a group (creating it on first use).
    // entries[0].index may be <= last+1: the entries from there on are
    // replaced (Raft suffix overwrite). An empty group accepts any first
    // index. Returns an error without queuing anything when the store
    // refuses writes (after a disk error, until a WAL file can be created
    // again) or the group is damaged. Otherwise exactly one durable_notice
    // follows for this call.
    result<void> append(group_id g, std::span<const entry> entries);
    // Drops entries with index >= from (durably, through the WAL).
    result<void> truncate_suffix(group_id g, log_index from);

    // Notices of appends that became durable (or failed) since the last call.
    std::vector<durable_notice> take_durable();
    // Blocks until a notice is ready or the timeout passes (tests, tools).
    bool wait_durable(std::chrono::milliseconds timeout);

    // Entries of [from, to] in order. Entries below the release point that
    // are not live are left out; stops after read_bytes_max bytes of payload,
    // so the caller continues from the last index returned + 1.
    result<std::vector<entry>> read(group_id g, log_index from, log_index to);
    // Term of the entry at `index` (nullopt if not stored). Index 0 has term 0.
    result<std::optional<term_t>> term_at(group_id g, log_index index);

    struct group_info {
        log_index first;
        log_index last;
        term_t last_term;
    };
    // nullopt for an unknown group; error for a damaged one.
    result<std::optional<group_info>> info(group_id g);

    // Everything below `index` is no longer needed, except the indexes
    // declared live. Call only once a snapshot covering it is durable: the
    // released entries are deleted in the background.
    void set_release_point(group_id g, log_index index);
    // Indexes below the release point that are still needed (e.g. messages
    // not yet acknowledged). Replaces the previous set.
    void set_live_indexes(group_id g, std::vector<log_index> live);

    // Closes the current WAL file and waits until the segment thread has
    // moved it to segments and run a compaction pass (tests, shutdown, tools).
    result<void> sync_segments();

    // The error that made the store refuse writes, if it is refusing now.
    std::optional<error> write_error() const;
    log_store_stats stats() const;

  private:
    struct mem_entry {
        uint64_t term;
        uint64_t offset;   // in WAL file wal_seq; while pending: the request id
        uint32_t wal_seq;  // 0: pending (queued, not yet written)
        uint32_t len;      // record length
    };
    static_assert(sizeof(mem_entry) == 24);

    struct group_state {
        uint64_t id = 0;
        std::vector<std::shared_ptr<segment>> segments;  // by index
        uint64_t seg_last = 0;                           // segments hold valid entries up to here
        uint64_t wal_first = 0;
        std::deque<mem_entry> wal;  // entries not yet in segments
        uint64_t first = 0;         // 0: empty
        uint64_t last = 0;
        uint64_t release = 0;
        // Durable release mark: indexes below it may be missing from the
        // segments (dropped as released); recovery accepts holes only there.
        uint64_t released_durable = 0;
        std::vector<uint64_t> live;  // sorted
        uint64_t next_segment_seq = 1;
        std::string error;
        bool compaction_due = false;
    };

    explicit log_store(log_store_options opts);
    result<void> recover();
    void apply_recovered(const format::record_header& h, uint64_t wal_seq, uint64_t offset);
    void mark_damaged(group_state& g, const std::string& message, bool persist);

    group_state& group_locked(uint64_t id);
    void truncate_locked(group_state& g, uint64_t from);
    void recompute_first_locked(group_state& g);
    bool released_locked(const group_state& g, uint64_t index) const;
    std::optional<entry> entry_from_memory_locked(const group_state& g, uint64_t index) const;
    void push_notices(std::vector<durable_notice>& notices);

    // wal_writer::listener (writer thread)
    void on_written(uint64_t seq, uint64_t batch_offset, std::shared_ptr<const bytes> batch,
                    std::vector<std::shared_ptr<wal_request>>& requests) override;
    void on_failed(std::vector<std::shared_ptr<wal_request>>& requests, const error& err) override;
    void on_closed(uint64_t seq) override;
    void on_opened(uint64_t seq, std::shared_ptr<file> f) override;
    void on_resumed() override;

    // Segment thread.
    void segment_loop();
    result<void> flush_wal_file(uint64_t seq);
    result<void> flush_group(uint64_t group, uint64_t seq);
    result<void> persist_release(uint64_t group, uint64_t release);
    void compact_groups();
    result<void> compact_group(uint64_t group);

    const log_store_options _opts;
    std::vector<group_recovery> _recovered;
    std::unique_ptr<wal_writer> _writer;

    mutable std::mutex _mu;  // guards everything below except the notice queue
    std::unordered_map<uint64_t, std::unique_ptr<group_state>> _groups;
    std::map<uint64_t, std::shared_ptr<file>> _wal_files;  // seq -> open file, until deleted
    std::unordered_map<uint64_t, std::shared_ptr<wal_request>> _pending;
    std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const bytes>> _cache;  // (seq, offset)
    uint64_t _cache_bytes = 0;
    uint64_t _next_request = 1;
    std::optional<error> _write_error;
    std::vector<std::string> _unattributable;  // WAL damage whose group is unknown
    std::deque<uint64_t> _closed;              // WAL files waiting for the segment thread
    std::map<uint64_t, bool> _keep_wal;        // damaged recovered WAL files: quarantine
    std::optional<error> _segment_error;       // last failure of the segment thread
    bool _stop = false;
    uint64_t _flushed_up_to = 0;  // segment thread: highest WAL seq handled
    uint64_t _compaction_gen = 0;
    uint64_t _compaction_done = 0;
    uint64_t _segments_compacted = 0;
    uint64_t _segments_deleted = 0;
    std::condition_variable _segment_cv;
    std::condition_variable _segment_done_cv;
    std::thread _segment_thread;

    std::mutex _notice_mu;
    std::condition_variable _notice_cv;
    std::vector<durable_notice> _notices;
};

}  // namespace qmq::storage
