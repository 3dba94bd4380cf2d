#pragma once

// One entry of a durable classic queue's single-member log: a queue machine
// command, the broker time it was applied at (replay feeds it back as
// meta.leader_time_ms, so TTLs replay identically) and, for an enqueue of a
// persistent message, the message itself. Transient messages routed to a
// durable queue are logged as a bare enqueue (no body), so indexes stay
// dense and the machine sees every command, but their bodies never reach
// disk; replay skips them (a transient message does not survive a restart).
//
// Format (big-endian):
//   version u8 (1) | time_ms u64 | command tag u8 | command fields |
//   has_message u8 | [exchange u8-len str | routing key u8-len str |
//                     properties (amqp basic property list) | body u32-len]

#include <cstdint>
#include <optional>

#include "broker/message.h"
#include "common/bytes.h"
#include "common/result.h"
#include "queue/commands.h"

namespace qmq::broker {

inline constexpr uint8_t durable_entry_version = 1;
// storage::entry::type of a queue command entry.
inline constexpr uint8_t durable_entry_type = 1;
// storage::entry::type of a gap entry (empty payload): an index applied
// while the log refused writes, covered by a later snapshot; replay skips it.
inline constexpr uint8_t durable_gap_type = 2;

struct durable_entry {
    uint64_t time_ms = 0;
    queue::command cmd;
    message_ptr msg;  // only for an enqueue of a persistent message
};

void encode_durable_entry(bytes& out, uint64_t time_ms, const queue::command& cmd,
                          const message* msg);
result<durable_entry> decode_durable_entry(bytes_view data);

}  // namespace qmq::broker
