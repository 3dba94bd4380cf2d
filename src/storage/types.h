#pragma once

// Value types of the storage engine's public API: ids, entries, notices.

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/strong_type.h"

namespace qmq::storage {

// One log per group: a Raft group (quorum queue) or a single-member log
// (durable classic queue). Id 0 is reserved.
using group_id = strong_type<uint64_t, struct group_id_tag>;
using term_t = strong_type<uint64_t, struct term_tag>;
using log_index = strong_type<uint64_t, struct log_index_tag>;

// What the entry carries is the caller's business (Raft command, config
// change, no-op); storage stores the byte and hands it back.
using entry_type = uint8_t;

struct entry {
    log_index index;
    term_t term;
    entry_type type = 0;
    bytes payload;

    bool operator==(const entry&) const = default;
};

// Answer to one append() call, delivered once. durable == true: entries
// [first, last] of `group` (all of term `term` or earlier) are on disk.
// durable == false: they were not written (error says why, e.g. ENOSPC) and
// the group's in-memory log was cut back to before `first`.
struct durable_notice {
    group_id group;
    log_index first;
    log_index last;
    term_t term;  // term of entry `last`
    bool durable = true;
    std::string error;
};

}  // namespace qmq::storage
