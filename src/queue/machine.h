#pragma once

// The queue state machine, one implementation for classic and quorum queues
// (rabbit_fifo's shape): apply(meta, command, state) -> (reply, effects).
//
//   - Pure and deterministic: no clock (time is meta.leader_time_ms), no
//     randomness, no unordered iteration reaching state or output, no floats.
//     Two replicas applying the same commands hold byte-equal states
//     (serialize() in snapshot.h) and compute identical effects.
//   - Per message it keeps 24 bytes (message_record) plus container overhead;
//     bodies and properties stay outside, named by message_ref.
//
// Delivery order: highest priority level first, FIFO by ref within a level.
// A returned message goes back to its original place, which is always ahead
// of every never-delivered message of its level (the head). Consumers: the
// highest x-priority with spare prefetch first, round-robin among equals;
// with single-active-consumer only the active one receives.
//
// The caller: a classic queue applies commands locally (meta.index from a
// per-queue counter or the single-member log); a quorum queue applies them on
// every replica after commit and carries out effects on the leader only.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "queue/commands.h"
#include "queue/effects.h"
#include "queue/types.h"

namespace qmq::queue {

// What the machine keeps per message. Expired once leader time > expires_at_ms.
struct message_record {
    message_ref ref;
    uint64_t expires_at_ms = time_never_ms;
    uint32_t size = 0;
    uint32_t delivery_count : 24 = 0;
    uint32_t priority : 8 = 0;

    bool operator==(const message_record& o) const {
        return ref == o.ref && expires_at_ms == o.expires_at_ms && size == o.size &&
               delivery_count == o.delivery_count && priority == o.priority;
    }
};
static_assert(sizeof(message_record) == 24);

enum class consumer_kind : uint8_t { consume, get };
enum class consumer_status : uint8_t { up, unreachable, cancelled };

struct consumer_record {
    owner_id owner;
    uint32_t prefetch = 0;  // 0 = unlimited
    int32_t priority = 0;
    bool exclusive = false;
    consumer_kind kind = consumer_kind::consume;
    consumer_status status = consumer_status::up;
    uint64_t attach_seq = 0;   // checkout order (single-active choice)
    uint64_t service_seq = 0;  // round-robin position among equal priorities
    std::map<message_ref, message_record> checked_out;
};

class queue_state;
std::vector<effect> leader_effects(const queue_state& state);

struct dlx_entry {
    message_record msg;
    dead_letter_reason reason = dead_letter_reason::rejected;
    bool announced = false;  // its dead_letter effect was emitted
};

class queue_state {
  public:
    // A new, empty queue created at leader time created_ms (x-expires counts
    // from there).
    queue_state(const queue_config& config, uint64_t created_ms);

    const queue_config& config() const { return _cfg; }

    // Ready (deliverable) messages and their body bytes.
    uint64_t ready_count() const { return _ready_count; }
    uint64_t ready_bytes() const { return _ready_bytes; }
    // Delivered (or got without no_ack) and not yet settled or returned.
    uint64_t unacked_count() const { return _unacked_count; }
    // at-least-once dead-lettered messages awaiting dlx_settle.
    uint64_t dlx_pending_count() const { return _dlx_pending.size(); }
    // Every message the machine still holds (ready + unacked + dlx-pending).
    uint64_t live_count() const { return _ready_count + _unacked_count + _dlx_pending.size(); }
    // basic.consume consumers not cancelled (queue.declare-ok consumer_count).
    uint64_t consumer_count() const { return _consume_count; }
    // For queue.delete if-unused: no consumers.
    bool is_unused() const { return _consume_count == 0; }
    bool is_deleted() const { return _deleted; }
    // Single active consumer: the one receiving, if any.
    std::optional<consumer_id> active_consumer() const { return _active; }
    // Refs checked out to a consumer, ascending (empty if unknown).
    std::vector<message_ref> checked_out(consumer_id c) const;
    bool has_consumer(consumer_id c) const { return _consumers.contains(c); }
    // Last applied index and the machine's (monotonic) leader time.
    log_index last_index() const { return _last_index; }
    uint64_t now_ms() const { return _now_ms; }

  private:
    friend struct machine;
    friend struct machine_steps;
    friend struct snapshot_codec;
    friend std::vector<effect> leader_effects(const queue_state& state);

    // Consumers eligible for a delivery, best first.
    using service_key = std::tuple<int64_t, uint64_t, consumer_id>;  // -priority, seq, id

    queue_config _cfg;
    uint64_t _now_ms = 0;
    log_index _last_index{0};
    uint64_t _applied = 0;
    bool _deleted = false;

    std::vector<std::deque<message_record>> _levels;  // index = priority; each sorted by ref
    uint64_t _ready_count = 0;
    uint64_t _ready_bytes = 0;
    uint64_t _unacked_count = 0;

    std::map<consumer_id, consumer_record> _consumers;
    std::set<service_key> _service;
    uint64_t _next_seq = 1;
    std::optional<consumer_id> _active;
    uint64_t _consume_count = 0;
    uint64_t _last_used_ms = 0;
    uint64_t _timer_ms = time_never_ms;

    std::map<message_ref, dlx_entry> _dlx_pending;
    std::set<message_ref> _dlx_waiting;  // pending, not announced (derived)
    uint64_t _dlx_announced = 0;         // pending and announced (derived)

    std::map<owner_id, uint64_t> _publisher_seq;  // highest confirm seq seen
    struct dedup_entry {
        uint64_t key;
        uint64_t at_ms;
    };
    std::deque<dedup_entry> _dedup_order;                   // insertion order
    std::unordered_map<uint64_t, uint64_t> _dedup_seen_ms;  // lookups only, never iterated
};

struct apply_result {
    reply r;
    std::vector<effect> effects;
};

// Applies one command. meta.index must exceed every earlier index; the state
// changes in place.
apply_result apply(const meta& m, const command& cmd, queue_state& state);
// The same, reusing `out`'s buffers (cleared first) on the hot path.
void apply(const meta& m, const command& cmd, queue_state& state, apply_result& out);

// Effects a new leader (or a restarted classic queue) must carry out: deliver
// for every message checked out to a live consume-consumer, dead_letter for
// every announced dlx-pending message, and the current timer.
std::vector<effect> leader_effects(const queue_state& state);

}  // namespace qmq::queue
