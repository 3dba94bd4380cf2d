#include "broker/vhost.h"

#include <algorithm>

#include "broker/broker.h"
#include "broker/dead_letter.h"
#include "broker/queue_args.h"
#include "common/assert.h"

namespace qmq::broker {
namespace {

// Bound on exchange hops per publish (e2e chains and alternate exchanges),
// so a pathological topology costs a bounded amount of work.
constexpr std::size_t route_exchanges_max = 1024;

}  // namespace

vhost::vhost(broker& b, std::string name) : _broker(b), _name(std::move(name)) {
    auto predeclare = [&](const char* n, exchange_type t) {
        exchange_settings s;
        s.type = t;
        s.durable = true;
        add_exchange(n, std::move(s));
    };
    predeclare("", exchange_type::direct);
    predeclare("amq.direct", exchange_type::direct);
    predeclare("amq.fanout", exchange_type::fanout);
    predeclare("amq.topic", exchange_type::topic);
    predeclare("amq.headers", exchange_type::headers);
    predeclare("amq.match", exchange_type::headers);
}

vhost::~vhost() = default;

uint64_t vhost::now_ms() const {
    return _broker.now_ms();
}

std::string vhost::describe_queue(std::string_view name) const {
    return "queue '" + std::string(name) + "' in vhost '" + _name + "'";
}

std::string vhost::describe_exchange(std::string_view name) const {
    return "exchange '" + std::string(name) + "' in vhost '" + _name + "'";
}

exchange* vhost::find_exchange(std::string_view name) {
    auto it = _exchanges.find(std::string(name));
    return it == _exchanges.end() ? nullptr : it->second.get();
}

classic_queue* vhost::find_queue(std::string_view name) {
    auto it = _queues.find(std::string(name));
    return it == _queues.end() ? nullptr : it->second.get();
}

classic_queue* vhost::find_queue_by_id(uint64_t id) {
    auto it = _queues_by_id.find(id);
    return it == _queues_by_id.end() ? nullptr : it->second;
}

exchange& vhost::add_exchange(const std::string& name, exchange_settings settings) {
    QMQ_ASSERT(!_exchanges.contains(name));
    auto x = std::make_unique<exchange>(name, std::move(settings));
    exchange& ref = *x;
    _exchanges.emplace(name, std::move(x));
    return ref;
}

void vhost::unbind_everywhere(const destination& d) {
    std::vector<exchange*> emptied;
    for (auto& [name, x] : _exchanges) {
        if (x->unbind_all(d) > 0 && x->settings().auto_delete && x->binding_count() == 0) {
            emptied.push_back(x.get());
        }
    }
    for (exchange* x : emptied) {
        maybe_auto_delete(*x);
    }
}

void vhost::delete_exchange(const std::string& name) {
    auto it = _exchanges.find(name);
    if (it == _exchanges.end()) {
        return;
    }
    _dead_exchanges.push_back(std::move(it->second));
    _exchanges.erase(it);
    unbind_everywhere(destination::exchange(name));
}

void vhost::maybe_auto_delete(exchange& x) {
    if (x.settings().auto_delete && x.binding_count() == 0 && find_exchange(x.name()) == &x) {
        delete_exchange(x.name());
    }
}

classic_queue& vhost::add_queue(const std::string& name, queue_declaration decl,
                                queue_settings settings, session* exclusive_owner) {
    QMQ_ASSERT(!_queues.contains(name));
    const uint64_t id = _next_queue_id++;
    auto q = std::make_unique<classic_queue>(*this, id, name, std::move(decl), std::move(settings),
                                             exclusive_owner, now_ms());
    classic_queue& ref = *q;
    _queues.emplace(name, std::move(q));
    _queues_by_id.emplace(id, &ref);
    return ref;
}

void vhost::forget_queue(classic_queue& q) {
    auto it = _queues.find(q.name());
    if (it == _queues.end() || it->second.get() != &q) {
        return;
    }
    const std::string name = q.name();
    _queues_by_id.erase(q.id());
    _dead_queues.push_back(std::move(it->second));
    _queues.erase(it);
    unbind_everywhere(destination::queue(name));
}

void vhost::route(const exchange& x, std::string_view routing_key, const amqp::field_table* headers,
                  std::vector<classic_queue*>& out) {
    std::vector<const exchange*> visited;
    route_from(x, routing_key, headers, visited, out);
}

void vhost::route_from(const exchange& x, std::string_view routing_key,
                       const amqp::field_table* headers, std::vector<const exchange*>& visited,
                       std::vector<classic_queue*>& out) {
    if (visited.size() >= route_exchanges_max ||
        std::find(visited.begin(), visited.end(), &x) != visited.end()) {
        return;
    }
    visited.push_back(&x);
    const std::size_t before = out.size();
    if (x.name().empty()) {
        // The default exchange: every queue is bound by its own name.
        if (classic_queue* q = find_queue(routing_key)) {
            if (std::find(out.begin(), out.end(), q) == out.end()) {
                out.push_back(q);
            }
        }
    } else {
        std::vector<const destination*> dests;
        x.route(routing_key, headers, dests);
        for (const destination* d : dests) {
            if (d->kind == destination_kind::queue) {
                classic_queue* q = find_queue(d->name);
                if (q != nullptr && std::find(out.begin(), out.end(), q) == out.end()) {
                    out.push_back(q);
                }
            } else if (const exchange* next = find_exchange(d->name)) {
                route_from(*next, routing_key, headers, visited, out);
            }
        }
    }
    if (out.size() == before) {
        if (const std::string* ae = x.alternate_exchange()) {
            if (const exchange* alt = find_exchange(*ae)) {
                route_from(*alt, routing_key, headers, visited, out);
            }
        }
    }
}

void vhost::dead_letter(classic_queue& from, const message_ptr& msg,
                        queue::dead_letter_reason reason) {
    const auto& s = from.settings();
    if (!s.dead_letter_exchange) {
        return;
    }
    exchange* dlx = find_exchange(*s.dead_letter_exchange);
    if (dlx == nullptr) {
        return;  // RabbitMQ drops the message when the DLX does not exist
    }
    const std::string& key =
        s.dead_letter_routing_key ? *s.dead_letter_routing_key : msg->routing_key;
    message_ptr dead =
        make_dead_lettered(*msg, from.name(), reason, now_ms(), *s.dead_letter_exchange, key);
    std::vector<classic_queue*> targets;
    const amqp::field_table* headers =
        dead->content.properties.headers ? &*dead->content.properties.headers : nullptr;
    route(*dlx, key, headers, targets);
    for (classic_queue* q : targets) {
        if (dead_letter_cycle(*dead, q->name())) {
            continue;
        }
        std::optional<uint64_t> expiration;  // removed by make_dead_lettered
        (void)q->publish(dead, 0, expiration);
    }
}

void vhost::tick(uint64_t now_ms) {
    std::vector<classic_queue*> due;
    for (auto& [name, q] : _queues) {
        if (q->timer_at_ms() <= now_ms) {
            due.push_back(q.get());
        }
    }
    for (classic_queue* q : due) {
        if (find_queue_by_id(q->id()) == q) {
            q->tick(now_ms);
        }
    }
}

void vhost::collect_garbage() {
    while (!_expired_ids.empty()) {
        const uint64_t id = _expired_ids.back();
        _expired_ids.pop_back();
        if (classic_queue* q = find_queue_by_id(id)) {
            forget_queue(*q);
        }
    }
    _dead_queues.clear();
    _dead_exchanges.clear();
}

}  // namespace qmq::broker
