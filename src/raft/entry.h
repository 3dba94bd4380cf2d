#pragma once

// A log entry and the snapshot that replaces a prefix of the log.

#include <cstdint>
#include <memory>

#include "common/bytes.h"
#include "raft/configuration.h"
#include "raft/types.h"

namespace qmq::raft {

enum class entry_kind : uint8_t {
    command = 0,  // an application command; `data` is opaque to the core
    noop = 1,     // appended by each new leader to commit its term (§3.6.2)
    config = 2,   // `data` is encode_configuration(); takes effect when appended
};

struct log_entry {
    term_t term;
    log_index index;
    entry_kind kind = entry_kind::command;
    bytes data;

    bool operator==(const log_entry&) const = default;
};

// Bytes an entry costs in flow control (payload plus a fixed header).
inline constexpr uint64_t entry_overhead_bytes = 24;
inline uint64_t entry_size(const log_entry& e) {
    return e.data.size() + entry_overhead_bytes;
}

// What a snapshot stands for: every entry up to `index` applied, the last of
// them of `term`, and the membership in force at that point.
struct snapshot_meta {
    log_index index;
    term_t term;
    configuration config;

    bool operator==(const snapshot_meta&) const = default;
};

// A snapshot: the metadata and the application's serialized state. The data
// is shared, not copied, between the runtime and the leader sending it.
struct snapshot {
    snapshot_meta meta;
    std::shared_ptr<const bytes> data;
};

// What must survive a crash, besides entries and snapshot: the current term
// and the vote cast in it. Forgetting the vote lets a node vote twice in a
// term (two leaders); the simulator proves it.
struct hard_state {
    term_t term;
    node_id vote;

    bool operator==(const hard_state&) const = default;
};

}  // namespace qmq::raft
