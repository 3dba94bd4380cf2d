#pragma once

// The x-death header as RabbitMQ writes it when it dead-letters a message:
// an array of tables, most recent first, one per (queue, reason), each
//   count (long), reason, queue, time (timestamp), exchange,
//   routing-keys (array), original-expiration (when the message had one)
// plus x-first-death-{reason,queue,exchange} (set once) and
// x-last-death-{reason,queue,exchange} (RabbitMQ 3.12+).

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/message.h"
#include "queue/types.h"

namespace qmq::broker {

std::string_view dead_letter_reason_name(queue::dead_letter_reason r);

// The message to republish: `msg` with x-death updated and `expiration`
// removed. The content (body included) is copied once per dead-lettering,
// which is off the hot path; the copy is then shared by every target queue.
message_ptr make_dead_lettered(const message& msg, std::string_view queue_name,
                               queue::dead_letter_reason reason, uint64_t now_ms,
                               const std::string& dlx, const std::string& routing_key);

// Whether republishing to `queue_name` would loop: the queue already appears
// in x-death and no death on the way was a rejection (RabbitMQ's rule).
bool dead_letter_cycle(const message& dead_lettered, std::string_view queue_name);

}  // namespace qmq::broker
