#include "broker/channel.h"

#include <algorithm>
#include <type_traits>

#include "amqp/constants.h"
#include "broker/broker.h"
#include "broker/channel_helpers.h"
#include "broker/classic_queue.h"
#include "broker/durable_confirms.h"
#include "broker/queue_args.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "common/assert.h"

namespace qmq::broker {

using namespace channel_detail;

namespace {

// Bounds the exchange graph one publish may walk (as vhost::route does).
constexpr std::size_t route_exchanges_max = 1024;

// Sender-selected distribution (RabbitMQ's CC and BCC headers): the
// longstr elements of an array header `name` become extra routing keys.
void append_keys(const amqp::field_table& headers, std::string_view name,
                 std::vector<std::string>& keys) {
    const amqp::field_array* a = headers.get_array(name);
    if (a == nullptr) {
        return;
    }
    for (const amqp::field_value& v : *a) {
        if (const std::string* k = v.get_if<std::string>()) {
            keys.push_back(*k);
        }
    }
}

// vhost::route with several routing keys, as RabbitMQ routes a message with
// CC/BCC: all keys travel together through exchange-to-exchange bindings,
// and the alternate exchange is used only when none of them routes.
void route_keys(vhost& vh, const exchange& x, const std::vector<std::string>& keys,
                const amqp::field_table* headers, std::vector<const exchange*>& visited,
                std::vector<classic_queue*>& out) {
    if (visited.size() >= route_exchanges_max ||
        std::find(visited.begin(), visited.end(), &x) != visited.end()) {
        return;
    }
    visited.push_back(&x);
    bool routed = false;
    const auto add = [&](classic_queue* q) {
        if (q == nullptr) {
            return;
        }
        routed = true;
        if (std::find(out.begin(), out.end(), q) == out.end()) {
            out.push_back(q);
        }
    };
    if (x.name().empty()) {
        for (const auto& k : keys) {
            add(vh.find_queue(k));
        }
    } else {
        std::vector<const destination*> dests;
        for (const auto& k : keys) {
            x.route(k, headers, dests);
        }
        for (const destination* d : dests) {
            if (d->kind == destination_kind::queue) {
                add(vh.find_queue(d->name));
            } else if (const exchange* next = vh.find_exchange(d->name)) {
                const std::size_t before = out.size();
                route_keys(vh, *next, keys, headers, visited, out);
                routed = routed || out.size() > before;
            }
        }
    }
    if (!routed) {
        if (const std::string* ae = x.alternate_exchange()) {
            if (const exchange* alt = vh.find_exchange(*ae)) {
                route_keys(vh, *alt, keys, headers, visited, out);
            }
        }
    }
}

}  // namespace

channel_state::channel_state(session& s, uint16_t number, uint64_t owner)
    : _session(s), _number(number), _owner(owner) {}

channel_state::~channel_state() = default;

vhost& channel_state::vh() {
    vhost* v = _session.owner_broker().find_vhost(_session.vhost_name());
    QMQ_ASSERT_MSG(v != nullptr, "session on a vhost that does not exist");
    return *v;
}

void channel_state::send(const amqp::method& m, const amqp::content* c) {
    _session.sink().send_method(_number, m, c);
}

void channel_state::on_batch_end() {
    flush_confirms();
}

void channel_state::flush_confirms() {
    if (!_confirms.has_decided()) {
        return;
    }
    _confirm_frames.clear();
    _confirms.flush(_confirm_frames);
    for (const auto& f : _confirm_frames) {
        if (f.ack) {
            send(amqp::basic_ack{f.tag, f.multiple});
        } else {
            send(amqp::basic_nack{f.tag, f.multiple, false});
        }
    }
}

void channel_state::on_method(const amqp::method& m, amqp::content* content) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, amqp::exchange_declare>) {
                on_exchange_declare(x);
            } else if constexpr (std::is_same_v<T, amqp::exchange_delete>) {
                on_exchange_delete(x);
            } else if constexpr (std::is_same_v<T, amqp::exchange_bind>) {
                on_exchange_bind(x);
            } else if constexpr (std::is_same_v<T, amqp::exchange_unbind>) {
                on_exchange_unbind(x);
            } else if constexpr (std::is_same_v<T, amqp::queue_declare>) {
                on_queue_declare(x);
            } else if constexpr (std::is_same_v<T, amqp::queue_bind>) {
                on_queue_bind(x);
            } else if constexpr (std::is_same_v<T, amqp::queue_unbind>) {
                on_queue_unbind(x);
            } else if constexpr (std::is_same_v<T, amqp::queue_purge>) {
                on_queue_purge(x);
            } else if constexpr (std::is_same_v<T, amqp::queue_delete>) {
                on_queue_delete(x);
            } else if constexpr (std::is_same_v<T, amqp::basic_qos>) {
                on_basic_qos(x);
            } else if constexpr (std::is_same_v<T, amqp::basic_consume>) {
                on_basic_consume(x);
            } else if constexpr (std::is_same_v<T, amqp::basic_cancel>) {
                on_basic_cancel(x);
            } else if constexpr (std::is_same_v<T, amqp::basic_publish>) {
                on_basic_publish(x, content);
            } else if constexpr (std::is_same_v<T, amqp::basic_get>) {
                on_basic_get(x);
            } else if constexpr (std::is_same_v<T, amqp::basic_ack>) {
                if (_tx) {
                    select_unacked(x.delivery_tag, x.multiple);  // validates now
                    _tx_settles.push_back({x.delivery_tag, x.multiple, settle_kind::ack});
                } else {
                    on_ack(x.delivery_tag, x.multiple);
                }
            } else if constexpr (std::is_same_v<T, amqp::basic_nack>) {
                on_reject(x.delivery_tag, x.multiple, x.requeue);
            } else if constexpr (std::is_same_v<T, amqp::basic_reject>) {
                on_reject(x.delivery_tag, false, x.requeue);
            } else if constexpr (std::is_same_v<T, amqp::basic_recover>) {
                on_recover(x.requeue);
                send(amqp::basic_recover_ok{});
            } else if constexpr (std::is_same_v<T, amqp::basic_recover_async>) {
                on_recover(x.requeue);
            } else if constexpr (std::is_same_v<T, amqp::tx_select>) {
                on_tx_select();
            } else if constexpr (std::is_same_v<T, amqp::tx_commit>) {
                on_tx_commit();
            } else if constexpr (std::is_same_v<T, amqp::tx_rollback>) {
                on_tx_rollback();
            } else if constexpr (std::is_same_v<T, amqp::confirm_select>) {
                on_confirm_select(x);
            } else {
                // Server-to-client methods, or ones the connection machine owns.
                fail<T>(reply::command_invalid,
                        "COMMAND_INVALID - unexpected method " + std::string(T::amqp_name));
            }
        },
        m);
}

// ---- permissions and lookups ------------------------------------------------

void channel_state::check_permission(permission perm, resource_kind kind, std::string_view name,
                                     uint16_t class_id, uint16_t method_id) {
    const access_decision d = _session.owner_broker().access().check(
        _session.user(), _session.vhost_name(), perm, kind, name);
    if (!d.allowed) {
        fail_ids(d.reply_code, d.text, class_id, method_id);
    }
}

std::string channel_state::resolve_queue_name(const std::string& name) const {
    return name.empty() ? _last_queue : name;
}

void channel_state::check_exclusive(classic_queue& q, uint16_t class_id, uint16_t method_id) {
    if (q.exclusive_owner() != nullptr && q.exclusive_owner() != &_session) {
        fail_ids(reply::resource_locked,
                 "RESOURCE_LOCKED - cannot obtain exclusive access to locked " + q.describe() +
                     ". It could be originally declared on another connection or the exclusive "
                     "property value does not match that of the original declaration.",
                 class_id, method_id);
    }
}

classic_queue& channel_state::queue_for_use(const std::string& name, uint16_t class_id,
                                            uint16_t method_id) {
    const std::string resolved = resolve_queue_name(name);
    if (resolved.empty()) {
        fail_ids(reply::not_found, "NOT_FOUND - no previously declared queue", class_id, method_id);
    }
    classic_queue* q = vh().find_queue(resolved);
    if (q == nullptr) {
        fail_ids(reply::not_found, "NOT_FOUND - no " + vh().describe_queue(resolved), class_id,
                 method_id);
    }
    check_exclusive(*q, class_id, method_id);
    return *q;
}

// ---- basic.qos / consume / cancel --------------------------------------------

void channel_state::on_basic_qos(const amqp::basic_qos& m) {
    using M = amqp::basic_qos;
    if (m.prefetch_size != 0) {
        fail<M>(reply::not_implemented,
                "NOT_IMPLEMENTED - prefetch_size!=0 (" + std::to_string(m.prefetch_size) + ")");
    }
    if (m.global) {
        // Shared by the channel's consumers: deliver() holds what goes
        // beyond it. Each consumer's machine limit is capped by it too, so
        // at most that many wait here per consumer.
        _prefetch_channel = m.prefetch_count;
        for (const auto& [tag, c] : _consumers) {
            if (c.no_ack)
                continue;
            if (classic_queue* q = vh().find_queue_by_id(c.queue_id)) {
                q->set_prefetch(c.id, effective_prefetch(false, c.prefetch));
            }
        }
        send(amqp::basic_qos_ok{});
        release_qos_waiting();
        return;
    } else {
        // RabbitMQ: applies to consumers created after this on the channel.
        _prefetch_consumer = m.prefetch_count;
    }
    send(amqp::basic_qos_ok{});
}

uint32_t channel_state::effective_prefetch(bool no_ack, uint16_t consumer_prefetch) const {
    if (no_ack) {
        return 0;
    }
    if (consumer_prefetch == 0)
        return _prefetch_channel;
    if (_prefetch_channel == 0)
        return consumer_prefetch;
    return std::min(consumer_prefetch, _prefetch_channel);
}

bool channel_state::channel_qos_full() const {
    return _prefetch_channel != 0 && _qos_unacked >= _prefetch_channel;
}

void channel_state::release_qos_waiting() {
    while (!_qos_waiting.empty() && !channel_qos_full()) {
        pending_delivery d = std::move(_qos_waiting.front());
        _qos_waiting.pop_front();
        if (vh().find_queue_by_id(d.queue_id) == nullptr) {
            continue;  // deleted meanwhile: nothing to deliver
        }
        send_delivery(d.queue_id, d.consumer, d.tag, d.no_ack, d.ref, d.msg, d.redelivered);
    }
}

void channel_state::return_qos_waiting(uint64_t queue_id, queue::consumer_id consumer,
                                       bool queue_gone) {
    std::vector<queue::message_ref> refs;
    for (auto it = _qos_waiting.begin(); it != _qos_waiting.end();) {
        if (it->queue_id == queue_id && it->consumer == consumer) {
            refs.push_back(it->ref);
            it = _qos_waiting.erase(it);
        } else {
            ++it;
        }
    }
    if (refs.empty() || queue_gone) {
        return;
    }
    if (classic_queue* q = vh().find_queue_by_id(queue_id)) {
        q->requeue(consumer, std::move(refs));
    }
}

void channel_state::on_basic_consume(const amqp::basic_consume& m) {
    using M = amqp::basic_consume;
    classic_queue& q = queue_for_use(m.queue, M::amqp_class_id, M::amqp_method_id);
    check_permission(permission::read, resource_kind::queue, q.name(), M::amqp_class_id,
                     M::amqp_method_id);
    std::string tag = m.consumer_tag;
    if (tag.empty()) {
        tag = _session.owner_broker().generate_name("amq.ctag-");
    } else if (_consumers.contains(tag)) {
        fail<M>(reply::not_allowed, "NOT_ALLOWED - attempt to reuse consumer tag '" + tag + "'");
    }
    if (_consumers.size() >= _session.owner_broker().cfg().limits.consumers_per_channel_max) {
        fail<M>(reply::resource_error, "RESOURCE_ERROR - consumer limit per channel reached");
    }
    int32_t priority = 0;
    if (const amqp::field_value* p = m.arguments.find("x-priority")) {
        auto v = p->as_int();
        if (!v || *v < INT32_MIN || *v > INT32_MAX) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - invalid arg 'x-priority' for consumer: expected an "
                    "integer");
        }
        priority = static_cast<int32_t>(*v);
    }
    const queue::consumer_id id = q.new_consumer_id();
    // Deliveries the checkout triggers must follow consume-ok on the wire.
    _hold_deliveries = true;
    const queue::status st =
        q.consume(id, _owner, effective_prefetch(m.no_ack, _prefetch_consumer), priority,
                  m.exclusive, consumer_entry{&_session, _number, tag, m.no_ack});
    _hold_deliveries = false;
    if (st != queue::status::ok) {
        _held.clear();  // nothing can have been delivered to a refused consumer
        fail<M>(reply::access_refused, "ACCESS_REFUSED - " + q.describe() + " in exclusive use");
    }
    _consumers.emplace(tag, consumer_info{q.id(), id, m.no_ack, _prefetch_consumer});
    if (std::find(_touched_queues.begin(), _touched_queues.end(), q.id()) ==
        _touched_queues.end()) {
        _touched_queues.push_back(q.id());
    }
    if (!m.nowait)
        send(amqp::basic_consume_ok{tag});
    flush_held_deliveries();
}

void channel_state::flush_held_deliveries() {
    auto held = std::move(_held);
    _held.clear();
    for (auto& d : held) {
        classic_queue* q = vh().find_queue_by_id(d.queue_id);
        if (q == nullptr) {
            continue;
        }
        deliver(*q, d.consumer, d.tag, d.no_ack, d.ref, d.msg, d.redelivered);
    }
}

void channel_state::on_basic_cancel(const amqp::basic_cancel& m) {
    auto it = _consumers.find(m.consumer_tag);
    if (it != _consumers.end()) {
        const consumer_info c = it->second;
        _consumers.erase(it);
        if (classic_queue* q = vh().find_queue_by_id(c.queue_id)) {
            q->cancel(c.id);
            // Held by the channel-wide qos, never sent: back to the queue
            // (after the cancel, so they cannot come back to this consumer).
            return_qos_waiting(c.queue_id, c.id, false);
            if (q->declaration().auto_delete && q->consumer_count() == 0) {
                delete_queue_now(*q);
            }
        }
    }
    if (!m.nowait)
        send(amqp::basic_cancel_ok{m.consumer_tag});
}

void channel_state::consumer_cancelled(const std::string& tag) {
    auto it = _consumers.find(tag);
    if (it != _consumers.end()) {
        const consumer_info c = it->second;
        _consumers.erase(it);
        return_qos_waiting(c.queue_id, c.id, true);
        send(amqp::basic_cancel{tag, true});
    }
}

// ---- deliveries -------------------------------------------------------------

void channel_state::deliver(classic_queue& q, queue::consumer_id consumer, const std::string& tag,
                            bool no_ack, queue::message_ref ref, const message_ptr& msg,
                            bool redelivered) {
    if (_hold_deliveries) {
        _held.push_back({q.id(), consumer, tag, no_ack, ref, msg, redelivered});
        return;
    }
    if (!no_ack && _prefetch_channel != 0 && (channel_qos_full() || !_qos_waiting.empty())) {
        _qos_waiting.push_back({q.id(), consumer, tag, no_ack, ref, msg, redelivered});
        return;
    }
    send_delivery(q.id(), consumer, tag, no_ack, ref, msg, redelivered);
}

void channel_state::send_delivery(uint64_t queue_id, queue::consumer_id consumer,
                                  const std::string& tag, bool no_ack, queue::message_ref ref,
                                  const message_ptr& msg, bool redelivered) {
    const uint64_t dtag = _next_tag++;
    if (!no_ack) {
        add_unacked(dtag, {queue_id, consumer, ref, false, true});
        ++_qos_unacked;
    }
    send(amqp::basic_deliver{tag, dtag, redelivered, msg->exchange, msg->routing_key},
         &msg->content);
}

void channel_state::on_basic_get(const amqp::basic_get& m) {
    using M = amqp::basic_get;
    classic_queue& q = queue_for_use(m.queue, M::amqp_class_id, M::amqp_method_id);
    check_permission(permission::read, resource_kind::queue, q.name(), M::amqp_class_id,
                     M::amqp_method_id);
    auto it = _get_consumers.find(q.id());
    if (it == _get_consumers.end()) {
        it = _get_consumers.emplace(q.id(), q.new_consumer_id()).first;
        if (std::find(_touched_queues.begin(), _touched_queues.end(), q.id()) ==
            _touched_queues.end()) {
            _touched_queues.push_back(q.id());
        }
    }
    const auto got = q.get(it->second, _owner, m.no_ack);
    if (got.empty) {
        send(amqp::basic_get_empty{});
        return;
    }
    const uint64_t dtag = _next_tag++;
    if (!m.no_ack) {
        add_unacked(dtag, {q.id(), it->second, got.ref, false});
    }
    send(amqp::basic_get_ok{dtag, got.redelivered, got.msg->exchange, got.msg->routing_key,
                            static_cast<uint32_t>(got.message_count)},
         &got.msg->content);
}

// ---- ack / nack / reject / recover --------------------------------------------

void channel_state::add_unacked(uint64_t tag, const unacked& u) {
    if (_unacked.empty()) {
        _unacked_base = tag;
    }
    QMQ_ASSERT(tag >= _unacked_base + _unacked.size());
    // Tags given to no-ack deliveries in between: tombstones.
    while (_unacked_base + _unacked.size() < tag) {
        _unacked.push_back(unacked{0, {}, {}, true});
    }
    _unacked.push_back(u);
    ++_unacked_live;
}

const std::vector<channel_state::unacked*>& channel_state::select_unacked(uint64_t tag,
                                                                          bool multiple) {
    _selected.clear();
    if (multiple && tag == 0) {
        for (auto& u : _unacked) {
            if (!u.done)
                _selected.push_back(&u);
        }
        return _selected;
    }
    if (tag < _unacked_base || tag - _unacked_base >= _unacked.size() ||
        _unacked[tag - _unacked_base].done) {
        fail_ids(reply::precondition_failed,
                 "PRECONDITION_FAILED - unknown delivery tag " + std::to_string(tag),
                 amqp::class_id::basic, 0);
    }
    const std::size_t last = tag - _unacked_base;
    if (!multiple) {
        _selected.push_back(&_unacked[last]);
        return _selected;
    }
    for (std::size_t i = 0; i <= last; ++i) {
        if (!_unacked[i].done)
            _selected.push_back(&_unacked[i]);
    }
    return _selected;
}

void channel_state::settle_entries(const std::vector<unacked*>& entries, settle_kind kind) {
    // One command per (queue, consumer) run, in tag order.
    std::size_t i = 0;
    while (i < entries.size()) {
        const uint64_t qid = entries[i]->queue_id;
        const queue::consumer_id cid = entries[i]->consumer;
        std::vector<queue::message_ref> refs;
        while (i < entries.size() && entries[i]->queue_id == qid && entries[i]->consumer == cid) {
            refs.push_back(entries[i]->ref);
            entries[i]->done = true;
            --_unacked_live;
            if (entries[i]->counted) {
                --_qos_unacked;
            }
            ++i;
        }
        classic_queue* q = vh().find_queue_by_id(qid);
        if (q == nullptr) {
            continue;  // deleted since: nothing to settle
        }
        switch (kind) {
            case settle_kind::ack:
                q->settle(cid, std::move(refs));
                break;
            case settle_kind::requeue:
                q->requeue(cid, std::move(refs));
                break;
            case settle_kind::discard:
                q->discard(cid, std::move(refs));
                break;
        }
    }
    trim_unacked();
    release_qos_waiting();
}

void channel_state::trim_unacked() {
    while (!_unacked.empty() && _unacked.front().done) {
        _unacked.pop_front();
        ++_unacked_base;
    }
}

void channel_state::on_ack(uint64_t tag, bool multiple) {
    settle_entries(select_unacked(tag, multiple), settle_kind::ack);
}

void channel_state::on_reject(uint64_t tag, bool multiple, bool requeue) {
    const auto& entries = select_unacked(tag, multiple);
    const settle_kind kind = requeue ? settle_kind::requeue : settle_kind::discard;
    if (_tx) {
        _tx_settles.push_back({tag, multiple, kind});
        return;
    }
    settle_entries(entries, kind);
}

void channel_state::on_recover(bool requeue) {
    if (!requeue) {
        fail_ids(reply::not_implemented, "NOT_IMPLEMENTED - requeue=false", amqp::class_id::basic,
                 0);
    }
    std::vector<unacked*> all;
    for (auto& u : _unacked) {
        if (!u.done)
            all.push_back(&u);
    }
    settle_entries(all, settle_kind::requeue);
}

// ---- publish ----------------------------------------------------------------

void channel_state::on_basic_publish(const amqp::basic_publish& m, amqp::content* content) {
    using M = amqp::basic_publish;
    if (m.immediate) {
        fail<M>(reply::not_implemented, "NOT_IMPLEMENTED - immediate=true");
    }
    check_permission(permission::write, resource_kind::exchange, m.exchange, M::amqp_class_id,
                     M::amqp_method_id);
    exchange* x = vh().find_exchange(m.exchange);
    if (x == nullptr) {
        fail<M>(reply::not_found, "NOT_FOUND - no " + vh().describe_exchange(m.exchange));
    }
    if (x->settings().internal) {
        fail<M>(reply::access_refused, "ACCESS_REFUSED - cannot publish to internal " +
                                           vh().describe_exchange(m.exchange));
    }
    auto msg = std::make_shared<message>();
    msg->exchange = m.exchange;
    msg->routing_key = m.routing_key;
    if (content != nullptr) {
        msg->content = std::move(*content);
    }
    if (const auto& exp = msg->content.properties.expiration) {
        if (auto v = parse_expiration(*exp); !v) {
            fail<M>(reply::precondition_failed, v.err().message);
        }
    }
    // CC and BCC route too; BCC is removed before anyone sees the message.
    std::vector<std::string> keys;
    if (auto& headers = msg->content.properties.headers) {
        append_keys(*headers, "CC", keys);
        append_keys(*headers, "BCC", keys);
        headers->erase("BCC");
        if (!keys.empty()) {
            keys.insert(keys.begin(), m.routing_key);
        }
    }
    if (_tx) {
        _tx_publishes.push_back({m, std::move(msg), std::move(keys)});
        return;
    }
    if (!_confirm) {
        (void)publish(m, msg, keys);
        return;
    }
    const uint64_t seq = _confirms.next();
    const publish_outcome out = publish(m, msg, keys);
    // Transient queues decide at once (unroutable messages are confirmed
    // too); the frames leave at the end of the read batch, coalesced.
    if (out.rejected) {
        _confirms.decide(seq, false);
    } else if (!out.waits.empty()) {
        defer_confirm(seq, out.waits);
    } else {
        _confirms.decide(seq, true);
    }
}

channel_state::publish_outcome channel_state::publish(const amqp::basic_publish& m,
                                                      const message_ptr& msg,
                                                      const std::vector<std::string>& keys) {
    exchange* x = vh().find_exchange(m.exchange);
    std::vector<classic_queue*> targets;
    if (x != nullptr) {
        const auto& props = msg->content.properties;
        const amqp::field_table* headers = props.headers ? &*props.headers : nullptr;
        if (keys.empty()) {
            vh().route(*x, m.routing_key, headers, targets);
        } else {
            std::vector<const exchange*> visited;
            route_keys(vh(), *x, keys, headers, visited, targets);
        }
    }
    std::optional<uint64_t> expiration;
    if (msg->content.properties.expiration) {
        auto v = parse_expiration(*msg->content.properties.expiration);
        if (v)
            expiration = *v;
    }
    publish_outcome out;
    for (classic_queue* q : targets) {
        const auto outcome = q->publish(msg, _owner, expiration);
        if (outcome == queue::enqueue_outcome::rejected) {
            out.rejected = true;
        } else if ((_confirm || _tx) && q->confirm_index() != 0) {
            out.waits.push_back({q->durable()->group(), q->confirm_index()});
        }
    }
    if (targets.empty() && m.mandatory) {
        send(amqp::basic_return{reply::no_route, "NO_ROUTE", m.exchange, m.routing_key},
             &msg->content);
    }
    return out;
}

// ---- tx and confirm -----------------------------------------------------------

void channel_state::on_tx_select() {
    if (_confirm) {
        fail_ids(reply::precondition_failed,
                 "PRECONDITION_FAILED - cannot switch from confirm to tx mode", amqp::class_id::tx,
                 10);
    }
    _tx = true;
    send(amqp::tx_select_ok{});
}

void channel_state::on_tx_commit() {
    if (!_tx) {
        fail_ids(reply::precondition_failed, "PRECONDITION_FAILED - channel is not transactional",
                 amqp::class_id::tx, 20);
    }
    auto publishes = std::move(_tx_publishes);
    _tx_publishes.clear();
    auto settles = std::move(_tx_settles);
    _tx_settles.clear();
    bool failed = false;
    std::vector<durable_wait> waits;
    for (auto& p : publishes) {
        publish_outcome out = publish(p.method, p.msg, p.keys);
        failed = failed || out.rejected;
        waits.insert(waits.end(), out.waits.begin(), out.waits.end());
    }
    for (const auto& s : settles) {
        settle_entries(select_unacked(s.tag, s.multiple), s.kind);
    }
    // commit-ok once the persistent messages routed to durable queues are
    // on disk, as RabbitMQ does; commit-oks leave in commit order.
    _committing = true;
    defer_commit(waits, failed);
    _committing = false;
    complete_commits(true);
}

void channel_state::on_tx_rollback() {
    if (!_tx) {
        fail_ids(reply::precondition_failed, "PRECONDITION_FAILED - channel is not transactional",
                 amqp::class_id::tx, 30);
    }
    _tx_publishes.clear();
    _tx_settles.clear();
    send(amqp::tx_rollback_ok{});
}

void channel_state::on_confirm_select(const amqp::confirm_select& m) {
    if (_tx) {
        fail_ids(reply::precondition_failed,
                 "PRECONDITION_FAILED - cannot switch from tx to confirm mode",
                 amqp::class_id::confirm, 10);
    }
    _confirm = true;
    if (!m.nowait)
        send(amqp::confirm_select_ok{});
}

// ---- teardown ---------------------------------------------------------------

void channel_state::release() {
    if (_released) {
        return;
    }
    _released = true;
    _held.clear();
    std::vector<classic_queue*> auto_delete;
    for (uint64_t qid : _touched_queues) {
        classic_queue* q = vh().find_queue_by_id(qid);
        if (q == nullptr)
            continue;
        const uint64_t before = q->consumer_count();
        q->owner_down(_owner);
        if (q->declaration().auto_delete && before > 0 && q->consumer_count() == 0) {
            auto_delete.push_back(q);
        }
    }
    for (classic_queue* q : auto_delete) {
        if (vh().find_queue_by_id(q->id()) == q) {
            delete_queue_now(*q);
        }
    }
    _consumers.clear();
    _unacked.clear();
    _unacked_live = 0;
    _qos_waiting.clear();  // checked out under our owner: `down` returned them
    _qos_unacked = 0;
}

}  // namespace qmq::broker
