#pragma once

// A published message as the broker keeps it: immutable once published and
// shared (refcounted) by every queue it was routed to, so a fanout to N
// queues holds one body, not N copies.

#include <memory>
#include <string>

#include "amqp/content.h"

namespace qmq::broker {

struct message {
    std::string exchange;     // as published (basic.deliver echoes it)
    std::string routing_key;  // as published
    amqp::content content;    // properties + body

    uint32_t body_size() const { return static_cast<uint32_t>(content.body.size()); }
};

using message_ptr = std::shared_ptr<const message>;

}  // namespace qmq::broker
