#pragma once

// One open channel of a session: its consumers, unacknowledged deliveries
// (by delivery tag), prefetch settings, publisher confirms and transaction.
// Method handlers throw channel_error; session.cc turns a soft one into
// channel.close and a hard one into connection.close, as RabbitMQ does.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "amqp/content.h"
#include "amqp/methods.h"
#include "broker/access_control.h"
#include "broker/durable_confirms.h"
#include "broker/message.h"
#include "queue/types.h"

namespace qmq::broker {

class session;
class classic_queue;
class vhost;

struct channel_error {
    uint16_t code = 0;
    std::string text;
    uint16_t class_id = 0;
    uint16_t method_id = 0;
};

class channel_state {
  public:
    channel_state(session& s, uint16_t number, uint64_t owner);
    ~channel_state();

    uint16_t number() const { return _number; }
    uint64_t owner() const { return _owner; }

    // Throws channel_error.
    void on_method(const amqp::method& m, amqp::content* content);
    // End of one socket read's methods (see session::on_batch_end): sends
    // the publisher confirms decided since, coalesced.
    void on_batch_end();

    // From queues: a message for consumer `tag` (empty tag = never; gets are
    // answered directly). Returns false if the channel cannot take it.
    void deliver(classic_queue& q, queue::consumer_id consumer, const std::string& tag, bool no_ack,
                 queue::message_ref ref, const message_ptr& msg, bool redelivered);
    // The queue of consumer `tag` was deleted: basic.cancel to the client.
    void consumer_cancelled(const std::string& tag);

    // The channel is gone: queues get `down` (unacked messages return),
    // auto-delete queues left without consumers are deleted.
    void release();

    std::size_t unacked_count() const { return _unacked_live; }

  private:
    // One delivery tag awaiting ack; tag = _unacked_base + its position.
    struct unacked {
        uint64_t queue_id = 0;
        queue::consumer_id consumer;
        queue::message_ref ref;
        bool done = false;     // settled, or a tag that never needed an ack
        bool counted = false;  // a consumer delivery under the channel-wide qos
    };
    struct consumer_info {
        uint64_t queue_id = 0;
        queue::consumer_id id;
        bool no_ack = false;
        uint16_t prefetch = 0;  // basic.qos global=false in force at consume
    };
    struct pending_delivery {
        uint64_t queue_id;
        queue::consumer_id consumer;
        std::string tag;
        bool no_ack;
        queue::message_ref ref;
        message_ptr msg;
        bool redelivered;
    };
    struct tx_publish {
        amqp::basic_publish method;
        message_ptr msg;
        std::vector<std::string> keys;  // with CC/BCC: every routing key
    };

    vhost& vh();
    void send(const amqp::method& m, const amqp::content* c = nullptr);

    void on_exchange_declare(const amqp::exchange_declare& m);
    void on_exchange_delete(const amqp::exchange_delete& m);
    void on_exchange_bind(const amqp::exchange_bind& m);
    void on_exchange_unbind(const amqp::exchange_unbind& m);
    void on_queue_declare(const amqp::queue_declare& m);
    void on_queue_bind(const amqp::queue_bind& m);
    void on_queue_unbind(const amqp::queue_unbind& m);
    void on_queue_purge(const amqp::queue_purge& m);
    void on_queue_delete(const amqp::queue_delete& m);
    void on_basic_qos(const amqp::basic_qos& m);
    void on_basic_consume(const amqp::basic_consume& m);
    void on_basic_cancel(const amqp::basic_cancel& m);
    void on_basic_publish(const amqp::basic_publish& m, amqp::content* content);
    void on_basic_get(const amqp::basic_get& m);
    void on_ack(uint64_t tag, bool multiple);
    void on_reject(uint64_t tag, bool multiple, bool requeue);
    void on_recover(bool requeue);
    void on_tx_select();
    void on_tx_commit();
    void on_tx_rollback();
    void on_confirm_select(const amqp::confirm_select& m);

    struct publish_outcome {
        bool rejected = false;            // a queue refused it (reject-publish)
        std::vector<durable_wait> waits;  // log entries that must reach the disk
    };
    // Routes and enqueues one message (mandatory returns included). `keys`:
    // empty, or the routing key followed by the CC and BCC ones.
    publish_outcome publish(const amqp::basic_publish& m, const message_ptr& msg,
                            const std::vector<std::string>& keys);
    // Decides confirm `seq` once `waits` are on disk (durable_channel.cc).
    void defer_confirm(uint64_t seq, const std::vector<durable_wait>& waits);
    // tx.commit-ok once `waits` are on disk; 406 if one failed.
    void defer_commit(const std::vector<durable_wait>& waits, bool failed);
    // Sends commit-ok (or closes the channel with 406) for the commits at
    // the front that are decided. Inside a method the 406 is thrown.
    void complete_commits(bool inside_method);
    void flush_confirms();
    // Unacked entries selected by (tag, multiple), in tag order; throws 406
    // for an unknown tag. The vector is reused by the next call.
    const std::vector<unacked*>& select_unacked(uint64_t tag, bool multiple);
    void add_unacked(uint64_t tag, const unacked& u);
    enum class settle_kind { ack, requeue, discard };
    void settle_entries(const std::vector<unacked*>& entries, settle_kind kind);
    void trim_unacked();

    classic_queue& queue_for_use(const std::string& name, uint16_t class_id, uint16_t method_id);
    std::string resolve_queue_name(const std::string& name) const;
    void check_permission(permission perm, resource_kind kind, std::string_view name,
                          uint16_t class_id, uint16_t method_id);
    void check_exclusive(classic_queue& q, uint16_t class_id, uint16_t method_id);
    // The queue machine's per-consumer limit: the consumer's own prefetch,
    // capped by the channel-wide one (which also bounds what waits here).
    uint32_t effective_prefetch(bool no_ack, uint16_t consumer_prefetch) const;
    bool channel_qos_full() const;
    // basic.deliver with the next delivery tag (deliver() decided it goes).
    void send_delivery(uint64_t queue_id, queue::consumer_id consumer, const std::string& tag,
                       bool no_ack, queue::message_ref ref, const message_ptr& msg,
                       bool redelivered);
    // Sends deliveries held by the channel-wide qos while there is room.
    void release_qos_waiting();
    // Returns the held deliveries of `consumer` of queue `queue_id` to it.
    void return_qos_waiting(uint64_t queue_id, queue::consumer_id consumer, bool queue_gone);
    void flush_held_deliveries();
    void delete_queue_now(classic_queue& q);

    session& _session;
    uint16_t _number;
    uint64_t _owner;

    // Delivery tags are monotonic per channel: indexed by tag - base, O(1)
    // to add at the back and to find; settled ones stay as tombstones until
    // they reach the front. A multiple ack walks only what it settles plus
    // tombstones it trims.
    std::deque<unacked> _unacked;
    uint64_t _unacked_base = 1;  // tag of _unacked.front()
    std::size_t _unacked_live = 0;
    std::vector<unacked*> _selected;  // select_unacked's result, reused
    uint64_t _next_tag = 1;

    std::map<std::string, consumer_info> _consumers;                  // by consumer tag
    std::unordered_map<uint64_t, queue::consumer_id> _get_consumers;  // by queue id
    std::vector<uint64_t> _touched_queues;  // queues with our consumers or gets
    uint16_t _prefetch_consumer = 0;        // basic.qos global=false
    uint16_t _prefetch_channel = 0;         // basic.qos global=true
    // basic.qos global=true, shared by the consumers of the channel
    // (RabbitMQ's per_consumer_qos reading): consumer deliveries sent and not
    // yet settled, and the ones the queues handed over beyond the limit,
    // waiting here (checked out in their queues) until acks make room.
    std::size_t _qos_unacked = 0;
    std::deque<pending_delivery> _qos_waiting;

    std::string _last_queue;  // for "" queue names (0-9-1 shortcut)

    bool _confirm = false;
    confirm_coalescer _confirms;
    std::vector<confirm_coalescer::frame> _confirm_frames;  // reused
    std::shared_ptr<durable_confirms> _durable_confirms;    // created on first use
    // tx.commit waiting for the disk, in order: commit-ok goes out for the
    // front once it is decided (a later commit never overtakes it).
    struct pending_commit {
        uint64_t seq = 0;  // its number in _durable_confirms (commit space)
        bool decided = false;
        bool ok = true;
    };
    std::deque<pending_commit> _commits;
    uint64_t _commit_seq = 0;
    std::shared_ptr<durable_confirms> _durable_commits;  // created on first use
    bool _committing = false;                            // inside on_tx_commit
    bool _tx = false;
    std::vector<tx_publish> _tx_publishes;
    struct tx_settle {
        uint64_t tag;
        bool multiple;
        settle_kind kind;
    };
    std::vector<tx_settle> _tx_settles;

    bool _hold_deliveries = false;
    std::vector<pending_delivery> _held;
    bool _released = false;
};

}  // namespace qmq::broker
