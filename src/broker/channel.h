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
#include "broker/message.h"
#include "queue/types.h"

namespace qmq::broker {

class session;
class classic_queue;
class vhost;
class durable_confirms;
struct durable_wait;

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
    // End of one socket read's methods (see session::on_batch_end).
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
    struct unacked {
        uint64_t tag = 0;
        uint64_t queue_id = 0;
        queue::consumer_id consumer;
        queue::message_ref ref;
        bool done = false;
    };
    struct consumer_info {
        uint64_t queue_id = 0;
        queue::consumer_id id;
        bool no_ack = false;
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

    // Routes and enqueues one message; confirms when in confirm mode.
    void publish(const amqp::basic_publish& m, const message_ptr& msg);
    // Confirms _publish_seq once its durable queues have it on disk
    // (durable_channel.cc).
    void defer_confirm(const std::vector<durable_wait>& waits);
    // Unacked entries selected by (tag, multiple); throws 406 for an unknown tag.
    std::vector<unacked*> select_unacked(uint64_t tag, bool multiple);
    enum class settle_kind { ack, requeue, discard };
    void settle_entries(const std::vector<unacked*>& entries, settle_kind kind);
    void trim_unacked();

    classic_queue& queue_for_use(const std::string& name, uint16_t class_id, uint16_t method_id);
    std::string resolve_queue_name(const std::string& name) const;
    void check_permission(permission perm, resource_kind kind, std::string_view name,
                          uint16_t class_id, uint16_t method_id);
    void check_exclusive(classic_queue& q, uint16_t class_id, uint16_t method_id);
    uint32_t effective_prefetch(bool no_ack) const;
    void flush_held_deliveries();
    void delete_queue_now(classic_queue& q);

    session& _session;
    uint16_t _number;
    uint64_t _owner;

    std::deque<unacked> _unacked;  // ascending tags
    std::size_t _unacked_live = 0;
    uint64_t _next_tag = 1;

    std::map<std::string, consumer_info> _consumers;                  // by consumer tag
    std::unordered_map<uint64_t, queue::consumer_id> _get_consumers;  // by queue id
    std::vector<uint64_t> _touched_queues;  // queues with our consumers or gets
    uint16_t _prefetch_consumer = 0;        // basic.qos global=false
    uint16_t _prefetch_channel = 0;         // basic.qos global=true

    std::string _last_queue;  // for "" queue names (0-9-1 shortcut)

    bool _confirm = false;
    uint64_t _publish_seq = 0;
    std::shared_ptr<durable_confirms> _durable_confirms;  // created on first use
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
