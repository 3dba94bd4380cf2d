#pragma once

// The commands of the queue state machine: each is one clause of apply() in
// machine.h. They are what a quorum queue replicates in its log, so they carry
// everything the machine needs (sizes, priority, per-message TTL) as numbers
// already extracted by the broker, and nothing it does not (no bodies).

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "queue/types.h"

namespace qmq::queue {

// basic.publish routed to this queue. The message's ref is meta.index.
// publisher_seq must grow per publisher; a seq <= the highest seen is a
// duplicate, so after a failover unconfirmed enqueues are resent in order
// before new ones (as rabbit_fifo's enqueuers require).
struct enqueue {
    owner_id publisher;          // the publishing channel
    uint64_t publisher_seq = 0;  // confirm sequence (> 0), 0 = no confirm, no seq dedup
    uint64_t dedup_key = 0;      // caller's 64-bit hash of the message id, 0 = none
    uint32_t size = 0;           // body size in bytes (x-max-length-bytes accounting)
    uint8_t priority = 0;        // message priority, clamped to max_priority
    // Per-message `expiration` property in ms (already parsed), if any; the
    // effective TTL is the minimum of it and x-message-ttl.
    std::optional<uint64_t> expiration_ms;

    bool operator==(const enqueue&) const = default;
};

// basic.consume: the consumer attaches. prefetch is the number of unsettled
// messages it may hold (0 = unlimited). priority is x-priority. exclusive
// fails if the queue has other consumers, and makes later checkouts fail.
struct checkout {
    consumer_id consumer;
    owner_id owner;
    uint32_t prefetch = 0;
    int32_t priority = 0;
    bool exclusive = false;

    bool operator==(const checkout&) const = default;
};

// basic.cancel: no more deliveries. Messages it holds stay checked out to it
// (it may still settle or return them) until it has none left.
struct cancel {
    consumer_id consumer;
    bool operator==(const cancel&) const = default;
};

// basic.ack (one or many, the broker expands `multiple` into refs).
struct settle {
    consumer_id consumer;
    std::vector<message_ref> refs;
    bool operator==(const settle&) const = default;
};

// basic.nack/reject with requeue=true: back to the head of the queue, in
// original order; the delivery count grows, past x-delivery-limit the message
// is dead-lettered (delivery_limit).
struct return_messages {
    consumer_id consumer;
    std::vector<message_ref> refs;
    bool operator==(const return_messages&) const = default;
};

// basic.nack/reject with requeue=false: dead-lettered (rejected).
struct discard {
    consumer_id consumer;
    std::vector<message_ref> refs;
    bool operator==(const discard&) const = default;
};

// basic.qos applied to a consumer: its new prefetch (0 = unlimited).
struct credit {
    consumer_id consumer;
    uint32_t prefetch = 0;
    bool operator==(const credit&) const = default;
};

// basic.get: take the next ready message, once. With no_ack the message is
// settled at once; otherwise it is checked out to `consumer` (a get-only
// consumer the broker names per channel) until settled or returned.
struct dequeue {
    consumer_id consumer;
    owner_id owner;
    bool no_ack = false;
    bool operator==(const dequeue&) const = default;
};

// queue.purge: drops ready messages (not the unacked ones).
struct purge {
    bool operator==(const purge&) const = default;
};

// Leader time advanced (a timer effect fired): expire messages, maybe the queue.
struct tick {
    bool operator==(const tick&) const = default;
};

// The owner of consumers is gone. closed (channel/connection closed): its
// consumers are removed. unreachable (node down, maybe back later): its
// consumers stay but get no deliveries until `up`. Either way every message
// they hold is returned (delivery count + 1).
enum class down_kind : uint8_t { closed, unreachable };
struct down {
    owner_id owner;
    down_kind kind = down_kind::closed;
    bool operator==(const down&) const = default;
};

// The owner is reachable again: its unreachable consumers resume.
struct up {
    owner_id owner;
    bool operator==(const up&) const = default;
};

// queue.delete. if_unused / if_empty refuse (precondition_failed) as AMQP says.
struct delete_queue {
    bool if_unused = false;
    bool if_empty = false;
    bool operator==(const delete_queue&) const = default;
};

// queue.declare of an existing queue (or passive): resets the x-expires timer
// and answers message and consumer counts.
struct touch {
    bool operator==(const touch&) const = default;
};

// at-least-once dead-lettering: the dead-letter targets confirmed these.
struct dlx_settle {
    std::vector<message_ref> refs;
    bool operator==(const dlx_settle&) const = default;
};

using command = std::variant<enqueue, checkout, cancel, settle, return_messages, discard, credit,
                             dequeue, purge, tick, down, up, delete_queue, touch, dlx_settle>;

}  // namespace qmq::queue
