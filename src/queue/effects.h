#pragma once

// What apply() returns besides the new state: a reply for the command's
// proposer and effects for the runtime. Effects are data; only the leader
// carries them out (followers drop them).
//
// Re-running effects after a failover (idempotency):
//  - deliver: the new leader calls leader_effects() (machine.h), which emits a
//    deliver for every message still checked out to a live consumer. The
//    consumer's channel knows which refs it already passed to the client and
//    drops repeats, so nothing is lost and nothing is shown twice. Messages
//    of consumers on a node that went away come back through `down`.
//  - confirm: keyed by (publisher, seq); a channel ignores a seq it already
//    confirmed. A publisher that resends after a failover gets `duplicate`.
//  - dead_letter (at-least-once): leader_effects() re-emits every dlx-pending
//    message; the targets may receive a message twice, never zero times.
//  - dropped / release_cursor / timer: state-like, repeating them is harmless.
//  - queue_expired: a new leader that finds state.is_deleted() makes sure the
//    queue is gone from the metadata (removal is idempotent).

#include <cstdint>
#include <variant>
#include <vector>

#include "queue/types.h"

namespace qmq::queue {

// Send basic.deliver (with x-delivery-count = delivery_count when > 0).
struct deliver {
    consumer_id consumer;
    message_ref ref;
    uint32_t delivery_count = 0;  // returns so far
    bool redelivered = false;     // delivery_count > 0
    bool operator==(const deliver&) const = default;
};

enum class enqueue_outcome : uint8_t {
    accepted,       // in the queue (or passed straight to a consumer): basic.ack
    duplicate,      // seen before (seq or dedup key): basic.ack, not enqueued again
    rejected,       // x-overflow reject-publish(-dlx) at the limit: basic.nack
    queue_deleted,  // the queue no longer exists
};

// Publisher confirm, emitted for every enqueue with publisher_seq > 0.
struct confirm {
    owner_id publisher;
    uint64_t seq = 0;
    enqueue_outcome outcome = enqueue_outcome::accepted;
    bool operator==(const confirm&) const = default;
};

// Publish the message to the dead-letter exchange with an x-death entry.
// at_most_once: the message has left the queue, free the body once published.
// at_least_once: it stays until dlx_settle names it.
struct dead_letter {
    message_ref ref;
    dead_letter_reason reason = dead_letter_reason::rejected;
    uint32_t delivery_count = 0;
    bool operator==(const dead_letter&) const = default;
};

// Messages gone without a consumer settling them and without dead-lettering
// (no DLX, purge, delete): their bodies may be freed. Consecutive drops of
// one reason within one command are batched in one effect.
struct dropped {
    drop_reason reason = drop_reason::purged;
    std::vector<message_ref> refs;
    bool operator==(const dropped&) const = default;
};

// Send basic.cancel to the consumer (the queue was deleted under it).
struct consumer_cancelled {
    consumer_id consumer;
    bool operator==(const consumer_cancelled&) const = default;
};

// Single active consumer: this consumer now receives messages.
struct consumer_activated {
    consumer_id consumer;
    bool operator==(const consumer_activated&) const = default;
};

// The queue deleted itself (x-expires): remove it from the metadata.
struct queue_expired {
    bool operator==(const queue_expired&) const = default;
};

// The log may be compacted: a snapshot of the state taken now stands for
// every entry up to snapshot_index, except the enqueue entries of messages
// still live. `live` lists live refs below snapshot_index in ascending order,
// from the oldest, at most release_live_max of them; when `truncated`, every
// entry above live.back() must also be kept. So one old unacknowledged message
// pins its own entry, not the gigabytes behind it. live.front() (or
// snapshot_index + 1 when live is empty) is the index below which no live
// message remains.
struct release_cursor {
    log_index snapshot_index;
    std::vector<message_ref> live;
    bool truncated = false;
    bool operator==(const release_cursor&) const = default;
};
inline constexpr uint32_t release_live_max = 1024;

// Propose a `tick` once leader time reaches at_ms (replaces any earlier
// request; time_never_ms cancels it).
struct timer {
    uint64_t at_ms = time_never_ms;
    bool operator==(const timer&) const = default;
};

using effect = std::variant<deliver, confirm, dead_letter, dropped, consumer_cancelled,
                            consumer_activated, queue_expired, release_cursor, timer>;

// ---- replies -------------------------------------------------------------

enum class status : uint8_t {
    ok,
    unknown_consumer,     // no such consumer (settle/return/cancel/credit)
    consumer_exists,      // checkout with an id in use
    exclusive_conflict,   // AMQP 403 access-refused: exclusive consumer rules
    precondition_failed,  // AMQP 406: delete if-unused / if-empty
    empty,                // basic.get-empty
    queue_deleted,        // the queue is gone (AMQP 404)
};

struct enqueue_reply {
    enqueue_outcome outcome = enqueue_outcome::accepted;
    bool operator==(const enqueue_reply&) const = default;
};

// Replies of checkout, cancel, credit, tick, up, dlx_settle.
struct status_reply {
    status code = status::ok;
    bool operator==(const status_reply&) const = default;
};

// settle / return_messages / discard / dlx_settle / down: how many of the
// named (or owned) messages were acted on; refs not checked out to the
// consumer are ignored (e.g. already returned when its node went down).
struct count_reply {
    status code = status::ok;
    uint64_t count = 0;
    bool operator==(const count_reply&) const = default;
};

// basic.get-ok / get-empty.
struct dequeue_reply {
    status code = status::empty;
    message_ref ref;
    uint32_t delivery_count = 0;
    bool redelivered = false;
    uint64_t message_count = 0;  // ready messages left (basic.get-ok message-count)
    bool operator==(const dequeue_reply&) const = default;
};

// queue.purge-ok / queue.delete-ok message-count; queue.declare-ok counts.
struct counts_reply {
    status code = status::ok;
    uint64_t message_count = 0;  // ready messages (purged / deleted / present)
    uint64_t consumer_count = 0;
    bool operator==(const counts_reply&) const = default;
};

using reply = std::variant<enqueue_reply, status_reply, count_reply, dequeue_reply, counts_reply>;

}  // namespace qmq::queue
