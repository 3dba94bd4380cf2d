#pragma once

// Identifiers, the apply metadata and the queue configuration of the queue
// state machine (see machine.h). Everything here is plain data: the broker
// parses and validates AMQP queue arguments and hands over numbers.

#include <cstdint>
#include <limits>
#include <optional>

#include "common/strong_type.h"

namespace qmq::queue {

// Index of the command in the queue's log (Raft index for a quorum queue, a
// per-queue counter for a transient classic queue). Strictly increasing.
using log_index = strong_type<uint64_t, struct log_index_tag>;
// A message is named by the log index of the enqueue command that carried it;
// its body and properties live outside the machine (log, WAL or broker memory).
using message_ref = strong_type<uint64_t, struct message_ref_tag>;
// A consumer, unique per queue for its lifetime; chosen by the broker.
using consumer_id = strong_type<uint64_t, struct consumer_id_tag>;
// Who owns consumers and publishes: a channel (or connection) somewhere in the
// cluster. Publisher confirms and deduplication are keyed by it, and `down`
// removes all consumers it owns.
using owner_id = strong_type<uint64_t, struct owner_id_tag>;

// What the log gives the machine with every command. The leader's clock is the
// only time the machine ever sees; it is made monotonic inside the machine.
struct meta {
    log_index index;
    uint64_t term = 0;
    uint64_t leader_time_ms = 0;
};

// x-overflow.
enum class overflow_policy : uint8_t { drop_head, reject_publish, reject_publish_dlx };

// What happens to a message that is dead-lettered. `none`: no
// x-dead-letter-exchange, the message is dropped. `at_most_once`: a
// dead_letter effect is emitted and the message leaves the queue at once.
// `at_least_once`: the message stays (as dlx-pending, not deliverable) until
// the broker reports with `dlx_settle` that the dead-letter targets have it.
enum class dead_letter_strategy : uint8_t { none, at_most_once, at_least_once };

// Why a message was dead-lettered; the broker writes it into x-death.
enum class dead_letter_reason : uint8_t { rejected, expired, maxlen, delivery_limit };

// Why messages left the machine without being settled by a consumer (or
// dead-lettered through the at-most-once path): their bodies may be freed.
enum class drop_reason : uint8_t {
    rejected,
    expired,
    maxlen,
    delivery_limit,
    purged,
    queue_deleted,
};

// x-max-priority is at most 255 as in RabbitMQ; levels = max_priority + 1.
inline constexpr uint32_t priority_max = 255;
// The delivery count saturates here (it is stored in 24 bits).
inline constexpr uint32_t delivery_count_max = (1u << 24) - 1;
// "No expiry" for absolute times.
inline constexpr uint64_t time_never_ms = std::numeric_limits<uint64_t>::max();

// The queue's arguments, already validated by the broker. Immutable for the
// life of the queue.
struct queue_config {
    std::optional<uint64_t> max_length;        // x-max-length (ready messages)
    std::optional<uint64_t> max_length_bytes;  // x-max-length-bytes (ready bodies)
    overflow_policy overflow = overflow_policy::drop_head;
    std::optional<uint64_t> message_ttl_ms;  // x-message-ttl
    std::optional<uint64_t> expires_ms;      // x-expires (> 0)
    std::optional<uint32_t> delivery_limit;  // x-delivery-limit
    dead_letter_strategy dead_letter = dead_letter_strategy::none;
    bool single_active_consumer = false;  // x-single-active-consumer
    uint8_t max_priority = 0;             // x-max-priority; 0 = one level
    // Publisher deduplication by message id (enqueue::dedup_key): a key seen
    // within the last dedup_window_ms (0 = off) is a duplicate; at most
    // dedup_entries_max keys are remembered (oldest forgotten first).
    uint64_t dedup_window_ms = 0;
    uint32_t dedup_entries_max = 100'000;
    // at-least-once: at most this many dead_letter effects awaiting
    // dlx_settle at once (0 = no bound); the rest wait, oldest ref first, so
    // an expiry wave does not turn into a million effects in one command.
    uint32_t dlx_in_flight_max = 1024;
    // A release_cursor effect is emitted every this many applied commands.
    uint32_t release_cursor_interval = 4096;

    bool operator==(const queue_config&) const = default;
};

}  // namespace qmq::queue
