#pragma once

// One virtual host: its exchanges (amq.* predeclared), queues and bindings,
// and routing across them. Routing follows exchange-to-exchange bindings and
// alternate exchanges with a visited set, so cycles end; each queue is
// reached at most once per publish.
//
// Deleted queues and exchanges leave the lookup tables at once but their
// objects live until collect_garbage(), which the broker calls at the end
// of each entry point, so no effect handler is left holding a dead object.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/classic_queue.h"
#include "broker/exchange.h"
#include "broker/message.h"

namespace qmq::broker {

class broker;
class session;

class vhost {
  public:
    vhost(broker& b, std::string name);
    ~vhost();

    broker& owner() { return _broker; }
    const std::string& name() const { return _name; }
    uint64_t now_ms() const;

    exchange* find_exchange(std::string_view name);
    const std::map<std::string, std::unique_ptr<exchange>>& exchanges() const { return _exchanges; }
    classic_queue* find_queue(std::string_view name);
    classic_queue* find_queue_by_id(uint64_t id);

    exchange& add_exchange(const std::string& name, exchange_settings settings);
    // Removes the exchange, its bindings and every binding to it.
    void delete_exchange(const std::string& name);
    // Deletes `x` if it is auto-delete and has no bindings left.
    void maybe_auto_delete(exchange& x);

    classic_queue& add_queue(const std::string& name, queue_declaration decl,
                             queue_settings settings, session* exclusive_owner);
    // Unbinds the queue everywhere and forgets it (object freed later).
    // The caller has already applied the machine's delete (remove()).
    void forget_queue(classic_queue& q);
    std::size_t queue_count() const { return _queues.size(); }
    const std::map<std::string, std::unique_ptr<classic_queue>>& queues() const { return _queues; }

    // Queues `routing_key` reaches from exchange `x`, each once.
    void route(const exchange& x, std::string_view routing_key, const amqp::field_table* headers,
               std::vector<classic_queue*>& out);

    // Publishes a dead-lettered message from `from` (x-death added here).
    void dead_letter(classic_queue& from, const message_ptr& msg, queue::dead_letter_reason reason);

    // Ticks every queue whose timer is due; expired queues are deleted.
    void tick(uint64_t now_ms);
    // A queue's machine deleted it (x-expires); it is forgotten at the next
    // collect_garbage(), outside any of its own commands.
    void note_expired(classic_queue& q) { _expired_ids.push_back(q.id()); }
    void collect_garbage();

    // Reply-text helpers: "queue 'q' in vhost '/'".
    std::string describe_queue(std::string_view name) const;
    std::string describe_exchange(std::string_view name) const;

  private:
    void route_from(const exchange& x, std::string_view routing_key,
                    const amqp::field_table* headers, std::vector<const exchange*>& visited,
                    std::vector<classic_queue*>& out);
    void unbind_everywhere(const destination& d);

    broker& _broker;
    std::string _name;
    std::map<std::string, std::unique_ptr<exchange>> _exchanges;
    std::map<std::string, std::unique_ptr<classic_queue>> _queues;
    std::unordered_map<uint64_t, classic_queue*> _queues_by_id;
    uint64_t _next_queue_id = 1;
    std::vector<uint64_t> _expired_ids;
    std::vector<std::unique_ptr<classic_queue>> _dead_queues;
    std::vector<std::unique_ptr<exchange>> _dead_exchanges;
};

}  // namespace qmq::broker
