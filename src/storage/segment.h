#pragma once

// One group's segment: an append-only file of records copied verbatim from
// the WAL (same format, same checksums), ordered by index, possibly with
// holes where released entries were skipped or compacted away, plus a
// sparse index file `<seq>.idx` with one entry per ~64 KiB of records.
//
// Durability: the segment writer appends, then sync() makes the records
// durable and only then writes their index entries. The index is a hint: at
// open every entry used is checked against the record it points to, and a
// missing or mismatched index (a crash mid-compaction leaves a new index
// beside the old segment) is rebuilt by scanning.
//
// Threads: append/sync/truncate_from/rewrite are called by the segment writer
// thread only; reads may come from any thread and see the state published by
// the last sync().

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/file.h"
#include "storage/format.h"
#include "storage/types.h"

namespace qmq::storage {

class segment {
  public:
    static constexpr uint64_t index_interval_bytes = 64 * 1024;

    static std::string data_path(const std::string& dir, uint64_t seq);
    static std::string index_path(const std::string& dir, uint64_t seq);

    // Creates empty segment files (headers durable, directory synced).
    static result<std::shared_ptr<segment>> create(const std::string& dir,
                                                   const std::string& node_id, uint64_t group,
                                                   uint64_t seq);
    // Opens an existing segment at start-up: reads the header and the last
    // index entry and scans only the records after it, so the cost does not
    // grow with the segment's size. A bad record in that tail is reported by
    // tail_damage() and left in place: the caller decides whether it is a
    // flush torn by a crash (its WAL file still holds the entries: cut_tail())
    // or damage. Returns nullptr for a segment that holds no record.
    static result<std::shared_ptr<segment>> open(const std::string& dir, const std::string& node_id,
                                                 uint64_t group, uint64_t seq);

    // One record inside the buffer given to append().
    struct record_ref {
        uint64_t index;
        uint64_t term;
        uint32_t offset;  // within the buffer
    };
    // Appends whole encoded records (writer thread). Not visible to readers,
    // nor durable, until sync().
    result<void> append(bytes_view records, std::span<const record_ref> refs);
    result<void> sync();
    // Forgets what append() wrote since the last sync() (after a failed
    // flush) and cuts those bytes off the file.
    void discard_pending();
    // End of the data written so far, synced or not (writer thread).
    uint64_t write_end() const { return _write_end; }

    // Drops records with index >= `index` (physically, durably). Returns
    // true when no record is left.
    result<bool> truncate_from(uint64_t index);

    // Writes a new segment with the same seq holding only the records whose
    // indexes are in `keep` (sorted), and atomically replaces this one (the
    // rename is the commit point: a crash leaves the old file or the new).
    // Returns nullptr when nothing is kept (files removed).
    result<std::shared_ptr<segment>> rewrite(std::span<const uint64_t> keep) const;

    result<void> remove_files() const;

    // Set by open() when the scanned tail holds a bad record (message names
    // file and offset); the published state covers the records before it.
    const std::optional<std::string>& tail_damage() const { return _tail_damage; }
    result<void> cut_tail();

    // Appends to `out` the records with index in [from, to], stopping after
    // `bytes_max` payload bytes (at least one entry is returned). Corruption
    // is an error naming the file and offset.
    result<void> read(uint64_t from, uint64_t to, uint64_t bytes_max,
                      std::vector<entry>& out) const;
    result<std::optional<uint64_t>> term_at(uint64_t index) const;

    uint64_t seq() const { return _seq; }
    uint64_t group() const { return _group; }
    // Published (synced) state.
    bool empty() const { return locked(_count) == 0; }
    uint64_t first() const { return locked(_first); }
    uint64_t last() const { return locked(_last); }
    uint64_t last_term() const { return locked(_last_term); }
    uint64_t record_count() const { return locked(_count); }
    uint64_t size_bytes() const { return locked(_size); }
    // Memory held by the sparse index (0 until the first read loads it).
    uint64_t index_memory_bytes() const;
    const std::string& path() const { return _file->path(); }

  private:
    // A copy of one field of the published state, read under _mu.
    template <typename T>
    T locked(const T& field) const {
        std::lock_guard lock(_mu);
        return field;
    }
    segment(std::string dir, std::string node_id, uint64_t group, uint64_t seq, uint64_t uid,
            std::shared_ptr<file> data, std::shared_ptr<file> index);
    result<void> load_sparse_locked() const;
    uint64_t start_offset_locked(uint64_t index) const;
    // Offset of the first record with index >= `index` (or the end).
    result<uint64_t> find_offset(uint64_t index) const;

    const std::string _dir;
    const std::string _node_id;
    const uint64_t _group;
    const uint64_t _seq;
    const uint64_t _uid;
    std::shared_ptr<file> _file;
    std::shared_ptr<file> _index;

    mutable std::mutex _mu;
    // Published state, guarded by _mu.
    uint64_t _size = 0;  // durable end of the data file
    uint64_t _first = 0;
    uint64_t _last = 0;
    uint64_t _last_term = 0;
    uint64_t _count = 0;
    uint64_t _index_size = 0;             // bytes in the index file
    uint64_t _truncations = 0;            // lets a reader tell damage from a concurrent cut
    mutable bool _sparse_loaded = false;  // lazily, on first read
    mutable std::vector<format::index_entry> _sparse;  // when loaded
    format::index_entry _last_index_entry{0, 0, 0};    // offset 0: none yet

    // Writer-thread state between append() and sync().
    uint64_t _write_end = 0;
    uint64_t _pending_first = 0;
    uint64_t _pending_last = 0;
    uint64_t _pending_last_term = 0;
    uint64_t _pending_count = 0;
    std::vector<format::index_entry> _pending_index;
    std::optional<std::string> _tail_damage;
};

}  // namespace qmq::storage
