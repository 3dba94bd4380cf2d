#pragma once

// A classic queue: the pure queue machine (queue/machine.h) applied locally,
// the bodies in a message_store, and the broker-side facts the machine does
// not replicate (name, durability, exclusive owner, consumers' channels).
//
// Every operation is one machine command; its effects are carried out here:
// deliver -> the consumer's channel, dead_letter -> the vhost republishes,
// dropped -> bodies freed, consumer_cancelled -> basic.cancel, timer ->
// remembered for broker::tick, queue_expired -> the vhost deletes the queue.
// Effects may apply further commands to this queue (no-ack settles,
// returns for a vanished channel); they are queued and applied after the
// current command's effects, never nested inside them.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "amqp/field_table.h"
#include "broker/durable_queue.h"
#include "broker/message.h"
#include "broker/message_store.h"
#include "broker/queue_args.h"
#include "queue/machine.h"

namespace qmq::broker {

class vhost;
class session;

struct queue_declaration {
    bool durable = false;
    bool exclusive = false;
    bool auto_delete = false;
    amqp::field_table arguments;
};

// Where a consumer's deliveries go.
struct consumer_entry {
    session* s = nullptr;
    uint16_t channel = 0;
    std::string tag;  // empty for a channel's basic.get consumer
    bool no_ack = false;
};

class classic_queue {
  public:
    classic_queue(vhost& vh, uint64_t id, std::string name, queue_declaration decl,
                  queue_settings settings, session* exclusive_owner, uint64_t now_ms);

    uint64_t id() const { return _id; }
    const std::string& name() const { return _name; }
    const queue_declaration& declaration() const { return _decl; }
    const queue_settings& settings() const { return _settings; }
    session* exclusive_owner() const { return _exclusive_owner; }
    uint64_t message_count() const { return _state.ready_count(); }
    uint64_t consumer_count() const { return _state.consumer_count(); }
    const queue::queue_state& state() const { return _state; }
    const message_store& store() const { return *_store; }
    // "queue 'q' in vhost '/'" for reply texts.
    std::string describe() const;

    queue::consumer_id new_consumer_id() { return queue::consumer_id(++_last_consumer); }

    // basic.publish routed here. owner is the publishing channel's owner id.
    queue::enqueue_outcome publish(const message_ptr& msg, uint64_t owner,
                                   std::optional<uint64_t> expiration_ms);
    queue::status consume(queue::consumer_id id, uint64_t owner, uint32_t prefetch,
                          int32_t priority, bool exclusive, consumer_entry entry);
    // Stops deliveries; returns false for an unknown consumer.
    bool cancel(queue::consumer_id id);
    void set_prefetch(queue::consumer_id id, uint32_t prefetch);
    void settle(queue::consumer_id id, std::vector<queue::message_ref> refs);
    void requeue(queue::consumer_id id, std::vector<queue::message_ref> refs);
    void discard(queue::consumer_id id, std::vector<queue::message_ref> refs);

    struct get_result {
        bool empty = true;
        queue::message_ref ref;
        message_ptr msg;
        bool redelivered = false;
        uint64_t message_count = 0;
    };
    get_result get(queue::consumer_id id, uint64_t owner, bool no_ack);

    uint64_t purge();
    // queue.delete: status precondition_failed when if_unused/if_empty refuse.
    queue::counts_reply remove(bool if_unused, bool if_empty);
    // queue.declare of an existing queue: resets x-expires, answers counts.
    queue::counts_reply touch();
    // The channel `owner` is gone: its consumers go, their messages return.
    void owner_down(uint64_t owner);

    // Leader time advanced to now_ms; applies tick when the timer is due.
    void tick(uint64_t now_ms);
    uint64_t timer_at_ms() const { return _timer_at_ms; }
    // Set when x-expires fired; the vhost deletes the queue.
    bool expired() const { return _expired; }

    // Durable (non-exclusive durable queue with a durable engine): its log.
    durable_queue* durable() { return _durable.get(); }
    // The log index the last publish() must reach durably before its
    // confirm; 0 when it needs no disk (transient message or queue).
    uint64_t confirm_index() const { return _confirm_index; }

  private:
    // durable_classic_queue.cc
    void open_durable(durable_engine& engine);
    void log_command(const queue::meta& m, const queue::command& cmd);

    queue::reply run(const queue::command& cmd);
    void carry_out(const queue::effect& e);
    void on_deliver(const queue::deliver& d);
    void on_dead_letter(const queue::dead_letter& d);
    void drain_followups();
    // Removes consumer bookkeeping for ids the machine no longer knows.
    void forget_gone_consumers();

    vhost& _vhost;
    uint64_t _id;
    std::string _name;
    queue_declaration _decl;
    queue_settings _settings;
    session* _exclusive_owner;
    queue::queue_state _state;
    std::unique_ptr<message_store> _store;
    std::unordered_map<uint64_t, consumer_entry> _consumers;  // by consumer_id
    uint64_t _last_index = 0;
    uint64_t _last_consumer = 0;
    uint64_t _timer_at_ms = queue::time_never_ms;
    bool _expired = false;

    queue::apply_result _result;  // reused buffers
    // Commands effects asked for, applied once the current effects are done.
    std::vector<queue::command> _followups;
    bool _running = false;
    // Dead-letters collected during a command, published after it.
    std::vector<std::pair<message_ptr, queue::dead_letter_reason>> _dead_letters;

    std::unique_ptr<durable_queue> _durable;
    const message* _publishing = nullptr;  // the message of the enqueue being run
    uint64_t _confirm_index = 0;
    bool _durable_deleted = false;
};

}  // namespace qmq::broker
