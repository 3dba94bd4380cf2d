#pragma once

// Queue arguments (x-*) read from the declare's field table, validated the
// way RabbitMQ does, with its argument names and 406 texts that name the
// argument. Unknown arguments are kept (they only matter for redeclare
// equivalence); known ones become numbers for the queue machine.

#include <optional>
#include <string>
#include <string_view>

#include "amqp/field_table.h"
#include "common/result.h"
#include "queue/types.h"

namespace qmq::broker {

struct queue_settings {
    queue::queue_config machine;                         // what the pure queue machine needs
    std::optional<std::string> dead_letter_exchange;     // x-dead-letter-exchange
    std::optional<std::string> dead_letter_routing_key;  // x-dead-letter-routing-key
};

// `what` names the queue in error texts: "queue 'q' in vhost '/'".
// Errors carry code 406 and a text starting "PRECONDITION_FAILED - ".
result<queue_settings> parse_queue_args(const amqp::field_table& args, std::string_view what);

// Parses the `expiration` property (per-message TTL): a decimal string of a
// non-negative integer. Errors are 406 texts.
result<uint64_t> parse_expiration(std::string_view text);

}  // namespace qmq::broker
