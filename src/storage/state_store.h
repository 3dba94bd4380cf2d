#pragma once

// Durable small state per group, next to its segments in
// <dir>/groups/<group>/ (see paths.h):
//   hard_state  current term and vote; config  the caller's encoded
//   configuration. Each is a small checksummed file replaced atomically
//   (temp file, fsync, rename, fsync the directory).
//   snapshot  the latest snapshot, written and read in checksummed chunks so
//   that a large one is never held whole in memory; it replaces the
//   previous one atomically on commit().
//
// File formats (big-endian):
//   small file: magic u32 "QMQS" | kind u8 | version u8 | reserved u16 |
//               length u32 | payload | crc32c u32 (of everything before)
//   hard_state payload: term u64 | voted_for u64 (0: none)
//   snapshot:   file header (format.h, kind 4) | index u64 | term u64 |
//               meta_len u32 | meta | meta_crc u32 |
//               chunks: len u32 | crc32c u32 | data ...  | end: len 0 |
//               total_bytes u64 | chunk_count u32 | crc32c u32 (of those 12)
//
// Thread-safety: calls for different groups may run in parallel; calls for
// one group must not (its owner serialises them).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/file.h"
#include "storage/types.h"

namespace qmq::storage {

struct hard_state {
    term_t term;
    uint64_t voted_for = 0;  // node id; 0 means no vote
    bool operator==(const hard_state&) const = default;
};

struct snapshot_meta {
    log_index index;  // last index the snapshot covers
    term_t term;      // its term
    bytes meta;       // the caller's (e.g. the configuration at `index`)
    bool operator==(const snapshot_meta&) const = default;
};

class snapshot_writer {
  public:
    ~snapshot_writer();  // without commit(): the partial file is removed
    // Appends a chunk (any size up to chunk_bytes_max).
    result<void> write(bytes_view chunk);
    // Makes the snapshot durable and the group's current one.
    result<void> commit();

    static constexpr std::size_t chunk_bytes_max = 16u << 20;

  private:
    friend class state_store;
    snapshot_writer(std::string tmp, std::string final_path, std::shared_ptr<file> f,
                    uint64_t offset);
    std::string _tmp;
    std::string _final;
    std::shared_ptr<file> _file;
    uint64_t _offset;
    uint64_t _total = 0;
    uint32_t _chunks = 0;
    bool _done = false;
};

class snapshot_reader {
  public:
    const snapshot_meta& meta() const { return _meta; }
    // The next chunk, checked; an empty one at the end (after checking the
    // totals). Damage is an error naming the file and offset.
    result<bytes> next_chunk();

  private:
    friend class state_store;
    snapshot_reader(std::shared_ptr<file> f, snapshot_meta meta, uint64_t offset);
    std::shared_ptr<file> _file;
    snapshot_meta _meta;
    uint64_t _offset;
    uint64_t _total = 0;
    uint32_t _chunks = 0;
    bool _end = false;
};

class state_store {
  public:
    explicit state_store(std::string dir) : _dir(std::move(dir)) {}

    result<void> save_hard_state(group_id g, const hard_state& hs);
    result<std::optional<hard_state>> load_hard_state(group_id g) const;
    result<void> save_config(group_id g, bytes_view config);
    result<std::optional<bytes>> load_config(group_id g) const;

    result<std::unique_ptr<snapshot_writer>> begin_snapshot(group_id g, const snapshot_meta& m);
    // nullptr when the group has no snapshot.
    result<std::unique_ptr<snapshot_reader>> open_snapshot(group_id g) const;

    // Removes the group's small state and snapshot (queue deleted).
    result<void> remove(group_id g);

  private:
    result<std::string> ensure_group_dir(group_id g);
    result<void> save_small(group_id g, const char* name, uint8_t kind, bytes_view payload);
    result<std::optional<bytes>> load_small(group_id g, const char* name, uint8_t kind) const;

    std::string _dir;
};

}  // namespace qmq::storage
