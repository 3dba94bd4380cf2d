#pragma once

// Durable metadata: the durable exchanges, durable (non-exclusive) queues
// and the bindings between durable ends, of every vhost, with their
// arguments. Kept as ONE small file rewritten atomically (state_store's
// config of reserved group 1: temp file, fsync, rename, fsync the
// directory), so a crash leaves either the old or the new version, never a
// mix. It is rewritten whenever its encoding changes; the caller checks
// after each exchange./queue. method and on each tick (auto-delete,
// x-expires), so a declare-ok leaves only after the file is on disk.
//
// Format (big-endian): version u8 (1) | vhosts u32 | per vhost:
//   name u16-len | exchanges u32 { name u8-len | type u8 | auto_delete u8 |
//   internal u8 | arguments (AMQP table) } | queues u32 { name u8-len |
//   auto_delete u8 | arguments } | bindings u32 { source u8-len |
//   dest kind u8 | dest u8-len | routing key u8-len | arguments }

#include "common/bytes.h"
#include "common/result.h"

namespace qmq::broker {

class broker;

// The group id whose config file holds the metadata (durable_engine maps
// queue names elsewhere).
inline constexpr uint64_t metadata_group = 1;

bytes encode_metadata(broker& b);
// Declares what `data` describes (exchanges, queues, which replay their
// logs, then bindings). Items naming an unknown vhost are skipped.
result<void> restore_metadata(broker& b, bytes_view data);

}  // namespace qmq::broker
