#pragma once

// Snapshot serialisation of the queue state: a follower far behind receives
// this instead of the log. Format (big-endian, see docs/queue-machine.md):
// magic "QMQS", u16 version, then every field of the state in a fixed order,
// then a crc32c of all preceding bytes. Equal states serialise to equal bytes.

#include "common/bytes.h"
#include "common/result.h"
#include "queue/machine.h"

namespace qmq::queue {

inline constexpr uint16_t snapshot_version = 1;

bytes serialize(const queue_state& state);
result<queue_state> deserialize(bytes_view data);

}  // namespace qmq::queue
