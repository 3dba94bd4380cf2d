#pragma once

// Recovery's reader of one WAL file. Batches are validated whole before any
// of their records is handed out, so a torn batch contributes nothing.
//
// Telling a torn tail from damage: only the last batch of a file can be torn
// (a batch is written only after the one before it is durable, and the
// writer never writes after a failed batch). A bad batch with a valid batch
// somewhere after it is damage in the middle; with none after it, it is the
// torn tail, and the file is cut there. A bit flip in the last batch looks
// exactly like a torn write, and is treated as one (logged).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/file.h"
#include "storage/format.h"

namespace qmq::storage {

struct wal_damage {
    uint64_t offset = 0;
    std::optional<uint64_t> group;  // nullopt: the damaged header hides whose it is
    std::string message;            // names the file and offset
};

struct wal_scan_outcome {
    std::optional<uint64_t> torn_at;  // the file was cut back to this size
    std::vector<wal_damage> damage;
};

using wal_record_fn = std::function<void(const format::record_header&, uint64_t offset)>;
using wal_damage_fn = std::function<void(const wal_damage&)>;

// Scans the file after its header; calls `on_record` for every valid record
// and `on_damage` for every damage, in file order. After damage whose group
// is unknown, scanning resumes at the next valid batch, so that every group
// with records in the file is seen.
result<wal_scan_outcome> scan_wal(file& f, const wal_record_fn& on_record,
                                  const wal_damage_fn& on_damage);

}  // namespace qmq::storage
