#include "broker/classic_queue.h"

#include <type_traits>

#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "common/assert.h"

namespace qmq::broker {
namespace {

// A command on a queue the machine has deleted (x-expires may fire inside
// any command) is answered with status_reply{queue_deleted} whatever the
// command: read replies through these.
queue::status status_of(const queue::reply& r) {
    return std::visit(
        [](const auto& x) -> queue::status {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, queue::enqueue_reply>) {
                return x.outcome == queue::enqueue_outcome::queue_deleted
                           ? queue::status::queue_deleted
                           : queue::status::ok;
            } else {
                return x.code;
            }
        },
        r);
}

template <typename T>
T reply_as(const queue::reply& r) {
    if (const T* x = std::get_if<T>(&r)) {
        return *x;
    }
    T out{};
    if constexpr (requires { out.code; }) {
        out.code = status_of(r);
    }
    return out;
}

}  // namespace

classic_queue::classic_queue(vhost& vh, uint64_t id, std::string name, queue_declaration decl,
                             queue_settings settings, session* exclusive_owner, uint64_t now_ms)
    : _vhost(vh),
      _id(id),
      _name(std::move(name)),
      _decl(std::move(decl)),
      _settings(std::move(settings)),
      _exclusive_owner(exclusive_owner),
      _state(_settings.machine, now_ms),
      _store(std::make_unique<memory_store>()) {
    if (_decl.durable && !_decl.exclusive) {
        if (durable_engine* engine = _vhost.owner().durable()) {
            open_durable(*engine);
        }
    }
}

std::string classic_queue::describe() const {
    return _vhost.describe_queue(_name);
}

queue::reply classic_queue::run(const queue::command& cmd) {
    const queue::meta m{queue::log_index(++_last_index), 0, _vhost.now_ms()};
    const bool outer = !_running;
    _running = true;
    queue::apply(m, cmd, _state, _result);
    if (_durable) {
        log_command(m, cmd);
    }
    // Effects may lead to more commands on this queue: take ours out first.
    queue::reply r = _result.r;
    std::vector<queue::effect> effects = std::move(_result.effects);
    _result.effects.clear();
    for (const auto& e : effects) {
        carry_out(e);
    }
    if (outer) {
        drain_followups();
        _running = false;
    }
    return r;
}

void classic_queue::drain_followups() {
    // Bounded: each follow-up settles or returns messages already delivered.
    while (!_followups.empty() || !_dead_letters.empty()) {
        if (!_followups.empty()) {
            queue::command next = std::move(_followups.front());
            _followups.erase(_followups.begin());
            run(next);
            continue;
        }
        auto dls = std::move(_dead_letters);
        _dead_letters.clear();
        for (auto& [msg, reason] : dls) {
            _vhost.dead_letter(*this, msg, reason);
        }
    }
    forget_gone_consumers();
}

void classic_queue::carry_out(const queue::effect& e) {
    std::visit(
        [&](const auto& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, queue::deliver>) {
                on_deliver(fx);
            } else if constexpr (std::is_same_v<T, queue::dead_letter>) {
                on_dead_letter(fx);
            } else if constexpr (std::is_same_v<T, queue::dropped>) {
                for (auto ref : fx.refs) {
                    _store->remove(ref);
                }
            } else if constexpr (std::is_same_v<T, queue::consumer_cancelled>) {
                auto it = _consumers.find(fx.consumer.value);
                if (it != _consumers.end()) {
                    consumer_entry ce = it->second;
                    _consumers.erase(it);
                    if (channel_state* ch = ce.s->find_channel(ce.channel)) {
                        if (!ce.tag.empty()) {
                            ch->consumer_cancelled(ce.tag);
                        }
                    }
                }
            } else if constexpr (std::is_same_v<T, queue::timer>) {
                _timer_at_ms = fx.at_ms;
            } else if constexpr (std::is_same_v<T, queue::queue_expired>) {
                _expired = true;
                _vhost.note_expired(*this);
            } else if constexpr (std::is_same_v<T, queue::release_cursor>) {
                if (_durable) {
                    _durable->on_release_cursor(fx, _state);
                }
            } else {
                // confirm: publishes use publisher_seq 0 (confirms are answered
                // from the enqueue reply); consumer_activated needs no action
                // for AMQP 0-9-1 clients.
                static_assert(std::is_same_v<T, queue::confirm> ||
                              std::is_same_v<T, queue::consumer_activated>);
            }
        },
        e);
}

void classic_queue::on_deliver(const queue::deliver& d) {
    const message_ptr* msg = _store->get(d.ref);
    QMQ_ASSERT_MSG(msg != nullptr, "delivered message has no stored body");
    auto it = _consumers.find(d.consumer.value);
    channel_state* ch = nullptr;
    if (it != _consumers.end()) {
        ch = it->second.s->find_channel(it->second.channel);
    }
    if (ch == nullptr) {
        // The consumer's channel vanished without telling us: give it back.
        _followups.push_back(queue::return_messages{d.consumer, {d.ref}});
        return;
    }
    const consumer_entry& ce = it->second;
    // Hold a reference: settling a no-ack delivery frees the store's slot.
    const message_ptr keep = *msg;
    ch->deliver(*this, d.consumer, ce.tag, ce.no_ack, d.ref, keep, d.redelivered);
    if (ce.no_ack) {
        // Sent and never coming back: free the body now, settle after.
        _store->remove(d.ref);
        // Batch consecutive no-ack settles of one consumer into one command.
        if (!_followups.empty()) {
            if (auto* s = std::get_if<queue::settle>(&_followups.back());
                s != nullptr && s->consumer == d.consumer) {
                s->refs.push_back(d.ref);
                return;
            }
        }
        _followups.push_back(queue::settle{d.consumer, {d.ref}});
    }
}

void classic_queue::on_dead_letter(const queue::dead_letter& d) {
    const message_ptr* msg = _store->get(d.ref);
    QMQ_ASSERT_MSG(msg != nullptr, "dead-lettered message has no stored body");
    _dead_letters.emplace_back(*msg, d.reason);
    _store->remove(d.ref);
}

void classic_queue::forget_gone_consumers() {
    for (auto it = _consumers.begin(); it != _consumers.end();) {
        if (!_state.has_consumer(queue::consumer_id(it->first))) {
            it = _consumers.erase(it);
        } else {
            ++it;
        }
    }
}

queue::enqueue_outcome classic_queue::publish(const message_ptr& msg, uint64_t owner,
                                              std::optional<uint64_t> expiration_ms) {
    queue::enqueue cmd;
    cmd.publisher = queue::owner_id(owner);
    cmd.size = msg->body_size();
    cmd.priority = msg->content.properties.priority.value_or(0);
    cmd.expiration_ms = expiration_ms;
    // The body must be findable before effects (an immediate deliver) run.
    const queue::message_ref ref(_last_index + 1);
    _store->put(ref, msg);
    _publishing = msg.get();
    _confirm_index = 0;
    const queue::reply r = run(cmd);
    _publishing = nullptr;
    queue::enqueue_reply er;
    if (const auto* x = std::get_if<queue::enqueue_reply>(&r)) {
        er = *x;
    } else {
        er.outcome = queue::enqueue_outcome::queue_deleted;
    }
    if (er.outcome != queue::enqueue_outcome::accepted) {
        _store->remove(ref);
    }
    return er.outcome;
}

queue::status classic_queue::consume(queue::consumer_id id, uint64_t owner, uint32_t prefetch,
                                     int32_t priority, bool exclusive, consumer_entry entry) {
    // Known before the checkout so that its deliveries find their channel.
    _consumers[id.value] = std::move(entry);
    const queue::reply r =
        run(queue::checkout{id, queue::owner_id(owner), prefetch, priority, exclusive});
    const auto code = status_of(r);
    if (code != queue::status::ok) {
        _consumers.erase(id.value);
    }
    return code;
}

bool classic_queue::cancel(queue::consumer_id id) {
    const queue::reply r = run(queue::cancel{id});
    _consumers.erase(id.value);
    return status_of(r) == queue::status::ok;
}

void classic_queue::set_prefetch(queue::consumer_id id, uint32_t prefetch) {
    (void)run(queue::credit{id, prefetch});
}

void classic_queue::settle(queue::consumer_id id, std::vector<queue::message_ref> refs) {
    // The channel settles only refs it was given, so all of them go.
    const queue::reply r = run(queue::settle{id, refs});
    if (reply_as<queue::count_reply>(r).count > 0) {
        for (auto ref : refs) {
            _store->remove(ref);
        }
    }
}

void classic_queue::requeue(queue::consumer_id id, std::vector<queue::message_ref> refs) {
    (void)run(queue::return_messages{id, std::move(refs)});
}

void classic_queue::discard(queue::consumer_id id, std::vector<queue::message_ref> refs) {
    (void)run(queue::discard{id, std::move(refs)});
}

classic_queue::get_result classic_queue::get(queue::consumer_id id, uint64_t owner, bool no_ack) {
    const queue::reply r = run(queue::dequeue{id, queue::owner_id(owner), no_ack});
    const auto dr = reply_as<queue::dequeue_reply>(r);
    get_result out;
    if (dr.code != queue::status::ok) {
        return out;
    }
    const message_ptr* msg = _store->get(dr.ref);
    QMQ_ASSERT_MSG(msg != nullptr, "dequeued message has no stored body");
    out.empty = false;
    out.ref = dr.ref;
    out.msg = *msg;
    out.redelivered = dr.redelivered;
    out.message_count = dr.message_count;
    if (no_ack) {
        _store->remove(dr.ref);
    }
    return out;
}

uint64_t classic_queue::purge() {
    const queue::reply r = run(queue::purge{});
    return reply_as<queue::counts_reply>(r).message_count;
}

queue::counts_reply classic_queue::remove(bool if_unused, bool if_empty) {
    const queue::reply r = run(queue::delete_queue{if_unused, if_empty});
    return reply_as<queue::counts_reply>(r);
}

queue::counts_reply classic_queue::touch() {
    const queue::reply r = run(queue::touch{});
    return reply_as<queue::counts_reply>(r);
}

void classic_queue::owner_down(uint64_t owner) {
    (void)run(queue::down{queue::owner_id(owner), queue::down_kind::closed});
}

void classic_queue::tick(uint64_t now_ms) {
    if (now_ms < _timer_at_ms || _state.is_deleted()) {
        return;
    }
    (void)run(queue::tick{});
}

}  // namespace qmq::broker
