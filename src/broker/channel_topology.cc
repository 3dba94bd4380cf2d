// channel_state, part two: the topology methods (exchange.* and queue.*).
// Deliveries, acks, publish, tx and confirms are in channel.cc.

#include <algorithm>

#include "amqp/constants.h"
#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/channel_helpers.h"
#include "broker/classic_queue.h"
#include "broker/durable_confirms.h"
#include "broker/queue_args.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "common/assert.h"

namespace qmq::broker {

using namespace channel_detail;

// ---- exchange.* -------------------------------------------------------------

void channel_state::on_exchange_declare(const amqp::exchange_declare& m) {
    using M = amqp::exchange_declare;
    if (m.exchange.empty()) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - operation not permitted on the default exchange");
    }
    exchange* x = vh().find_exchange(m.exchange);
    if (m.passive) {
        if (x == nullptr) {
            fail<M>(reply::not_found, "NOT_FOUND - no " + vh().describe_exchange(m.exchange));
        }
        if (!m.nowait)
            send(amqp::exchange_declare_ok{});
        return;
    }
    const auto type = parse_exchange_type(m.type);
    if (!type) {
        // RabbitMQ treats an unknown type as a connection error.
        fail<M>(reply::command_invalid, "COMMAND_INVALID - unknown exchange type '" + m.type + "'");
    }
    check_permission(permission::configure, resource_kind::exchange, m.exchange, M::amqp_class_id,
                     M::amqp_method_id);
    if (x == nullptr) {
        if (reserved_name(m.exchange)) {
            fail<M>(reply::access_refused, "ACCESS_REFUSED - exchange name '" + m.exchange +
                                               "' contains reserved prefix 'amq.*'");
        }
        if (const amqp::field_value* ae = m.arguments.find("alternate-exchange");
            ae != nullptr && ae->get_if<std::string>() == nullptr) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - invalid arg 'alternate-exchange' for " +
                        vh().describe_exchange(m.exchange) + ": expected a longstr");
        }
        exchange_settings s;
        s.type = *type;
        s.durable = m.durable;
        s.auto_delete = m.auto_delete;
        s.internal = m.internal;
        s.arguments = m.arguments;
        vh().add_exchange(m.exchange, std::move(s));
    } else {
        const exchange_settings& s = x->settings();
        auto inequivalent = [&](const char* arg, std::string got, std::string have) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - inequivalent arg '" + std::string(arg) + "' for " +
                        vh().describe_exchange(m.exchange) + ": received '" + got +
                        "' but current is '" + have + "'");
        };
        if (s.type != *type) {
            inequivalent("type", m.type, std::string(exchange_type_name(s.type)));
        }
        if (s.durable != m.durable)
            inequivalent("durable", bool_text(m.durable), bool_text(s.durable));
        if (s.auto_delete != m.auto_delete) {
            inequivalent("auto_delete", bool_text(m.auto_delete), bool_text(s.auto_delete));
        }
        if (s.internal != m.internal) {
            inequivalent("internal", bool_text(m.internal), bool_text(s.internal));
        }
        if (!s.arguments.equivalent(m.arguments)) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - inequivalent arguments for " +
                        vh().describe_exchange(m.exchange));
        }
    }
    if (!m.nowait)
        send(amqp::exchange_declare_ok{});
}

void channel_state::on_exchange_delete(const amqp::exchange_delete& m) {
    using M = amqp::exchange_delete;
    if (m.exchange.empty()) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - operation not permitted on the default exchange");
    }
    if (reserved_name(m.exchange)) {
        fail<M>(reply::access_refused, "ACCESS_REFUSED - deletion of system " +
                                           vh().describe_exchange(m.exchange) + " not allowed");
    }
    check_permission(permission::configure, resource_kind::exchange, m.exchange, M::amqp_class_id,
                     M::amqp_method_id);
    exchange* x = vh().find_exchange(m.exchange);
    if (x != nullptr) {
        if (m.if_unused && x->binding_count() > 0) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - " + vh().describe_exchange(m.exchange) + " in use");
        }
        vh().delete_exchange(m.exchange);
    }
    // Deleting a missing exchange succeeds, as in RabbitMQ.
    if (!m.nowait)
        send(amqp::exchange_delete_ok{});
}

void channel_state::on_exchange_bind(const amqp::exchange_bind& m) {
    using M = amqp::exchange_bind;
    if (m.source.empty() || m.destination.empty()) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - operation not permitted on the default exchange");
    }
    check_permission(permission::write, resource_kind::exchange, m.destination, M::amqp_class_id,
                     M::amqp_method_id);
    check_permission(permission::read, resource_kind::exchange, m.source, M::amqp_class_id,
                     M::amqp_method_id);
    exchange* src = vh().find_exchange(m.source);
    if (src == nullptr) {
        fail<M>(reply::not_found, "NOT_FOUND - no " + vh().describe_exchange(m.source));
    }
    if (vh().find_exchange(m.destination) == nullptr) {
        fail<M>(reply::not_found, "NOT_FOUND - no " + vh().describe_exchange(m.destination));
    }
    if (src->type() == exchange_type::headers) {
        if (auto mode = parse_x_match(m.arguments); !mode) {
            fail<M>(reply::precondition_failed, "PRECONDITION_FAILED - " + mode.err().message);
        }
    }
    src->bind(destination::exchange(m.destination), m.routing_key, m.arguments);
    if (!m.nowait)
        send(amqp::exchange_bind_ok{});
}

void channel_state::on_exchange_unbind(const amqp::exchange_unbind& m) {
    using M = amqp::exchange_unbind;
    if (m.source.empty() || m.destination.empty()) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - operation not permitted on the default exchange");
    }
    check_permission(permission::write, resource_kind::exchange, m.destination, M::amqp_class_id,
                     M::amqp_method_id);
    check_permission(permission::read, resource_kind::exchange, m.source, M::amqp_class_id,
                     M::amqp_method_id);
    if (exchange* src = vh().find_exchange(m.source)) {
        if (src->unbind(destination::exchange(m.destination), m.routing_key, m.arguments)) {
            vh().maybe_auto_delete(*src);
        }
    }
    if (!m.nowait)
        send(amqp::exchange_unbind_ok{});
}

// ---- queue.* ----------------------------------------------------------------

void channel_state::on_queue_declare(const amqp::queue_declare& m) {
    using M = amqp::queue_declare;
    std::string name = m.queue;
    if (m.passive) {
        const std::string resolved = resolve_queue_name(name);
        classic_queue* q = resolved.empty() ? nullptr : vh().find_queue(resolved);
        if (q == nullptr) {
            fail<M>(reply::not_found, "NOT_FOUND - no " + vh().describe_queue(resolved));
        }
        check_exclusive(*q, M::amqp_class_id, M::amqp_method_id);
        const auto counts = q->touch();
        _last_queue = resolved;
        if (!m.nowait) {
            send(amqp::queue_declare_ok{resolved, static_cast<uint32_t>(counts.message_count),
                                        static_cast<uint32_t>(counts.consumer_count)});
        }
        return;
    }
    if (name.empty()) {
        name = _session.owner_broker().generate_name("amq.gen-");
    } else if (reserved_name(name)) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - queue name '" + name + "' contains reserved prefix 'amq.*'");
    }
    check_permission(permission::configure, resource_kind::queue, name, M::amqp_class_id,
                     M::amqp_method_id);
    auto settings = parse_queue_args(m.arguments, vh().describe_queue(name));
    if (!settings) {
        fail<M>(static_cast<uint16_t>(settings.err().code), settings.err().message);
    }
    classic_queue* q = vh().find_queue(name);
    if (q != nullptr) {
        check_exclusive(*q, M::amqp_class_id, M::amqp_method_id);
        const queue_declaration& d = q->declaration();
        auto inequivalent = [&](const char* arg, bool got, bool have) {
            fail<M>(reply::precondition_failed, "PRECONDITION_FAILED - inequivalent arg '" +
                                                    std::string(arg) + "' for " + q->describe() +
                                                    ": received '" + bool_text(got) +
                                                    "' but current is '" + bool_text(have) + "'");
        };
        if (d.durable != m.durable)
            inequivalent("durable", m.durable, d.durable);
        if (d.exclusive != m.exclusive)
            inequivalent("exclusive", m.exclusive, d.exclusive);
        if (d.auto_delete != m.auto_delete) {
            inequivalent("auto_delete", m.auto_delete, d.auto_delete);
        }
        if (!d.arguments.equivalent(m.arguments)) {
            // Name the first argument that differs, as RabbitMQ does.
            std::string arg;
            for (const auto& e : m.arguments.entries()) {
                const amqp::field_value* have = d.arguments.find(e.key);
                if (have == nullptr || !have->equivalent(e.value)) {
                    arg = e.key;
                    break;
                }
            }
            if (arg.empty()) {
                for (const auto& e : d.arguments.entries()) {
                    if (!m.arguments.contains(e.key)) {
                        arg = e.key;
                        break;
                    }
                }
            }
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - inequivalent arg '" + arg + "' for " + q->describe());
        }
    } else {
        if (vh().queue_count() >= _session.owner_broker().cfg().limits.queues_per_vhost_max) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - queue limit in vhost '" + vh().name() + "' reached");
        }
        queue_declaration d{m.durable, m.exclusive, m.auto_delete, m.arguments};
        q = &vh().add_queue(name, std::move(d), std::move(*settings),
                            m.exclusive ? &_session : nullptr);
    }
    const auto counts = q->touch();
    _last_queue = name;
    if (!m.nowait) {
        send(amqp::queue_declare_ok{name, static_cast<uint32_t>(counts.message_count),
                                    static_cast<uint32_t>(counts.consumer_count)});
    }
}

void channel_state::on_queue_bind(const amqp::queue_bind& m) {
    using M = amqp::queue_bind;
    classic_queue& q = queue_for_use(m.queue, M::amqp_class_id, M::amqp_method_id);
    if (m.exchange.empty()) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - operation not permitted on the default exchange");
    }
    check_permission(permission::write, resource_kind::queue, q.name(), M::amqp_class_id,
                     M::amqp_method_id);
    check_permission(permission::read, resource_kind::exchange, m.exchange, M::amqp_class_id,
                     M::amqp_method_id);
    exchange* x = vh().find_exchange(m.exchange);
    if (x == nullptr) {
        fail<M>(reply::not_found, "NOT_FOUND - no " + vh().describe_exchange(m.exchange));
    }
    if (x->type() == exchange_type::headers) {
        if (auto mode = parse_x_match(m.arguments); !mode) {
            fail<M>(reply::precondition_failed, "PRECONDITION_FAILED - " + mode.err().message);
        }
    }
    // 0-9-1: an empty queue name with an empty key binds the last queue by its name.
    const std::string key = (m.queue.empty() && m.routing_key.empty()) ? q.name() : m.routing_key;
    x->bind(destination::queue(q.name()), key, m.arguments);
    if (!m.nowait)
        send(amqp::queue_bind_ok{});
}

void channel_state::on_queue_unbind(const amqp::queue_unbind& m) {
    using M = amqp::queue_unbind;
    if (m.exchange.empty()) {
        fail<M>(reply::access_refused,
                "ACCESS_REFUSED - operation not permitted on the default exchange");
    }
    const std::string name = resolve_queue_name(m.queue);
    check_permission(permission::write, resource_kind::queue, name, M::amqp_class_id,
                     M::amqp_method_id);
    check_permission(permission::read, resource_kind::exchange, m.exchange, M::amqp_class_id,
                     M::amqp_method_id);
    if (classic_queue* q = vh().find_queue(name)) {
        check_exclusive(*q, M::amqp_class_id, M::amqp_method_id);
    }
    if (exchange* x = vh().find_exchange(m.exchange)) {
        if (x->unbind(destination::queue(name), m.routing_key, m.arguments)) {
            vh().maybe_auto_delete(*x);
        }
    }
    send(amqp::queue_unbind_ok{});
}

void channel_state::on_queue_purge(const amqp::queue_purge& m) {
    using M = amqp::queue_purge;
    classic_queue& q = queue_for_use(m.queue, M::amqp_class_id, M::amqp_method_id);
    check_permission(permission::read, resource_kind::queue, q.name(), M::amqp_class_id,
                     M::amqp_method_id);
    const uint64_t n = q.purge();
    if (!m.nowait)
        send(amqp::queue_purge_ok{static_cast<uint32_t>(n)});
}

void channel_state::delete_queue_now(classic_queue& q) {
    (void)q.remove(false, false);
    vh().forget_queue(q);
}

void channel_state::on_queue_delete(const amqp::queue_delete& m) {
    using M = amqp::queue_delete;
    const std::string name = resolve_queue_name(m.queue);
    check_permission(permission::configure, resource_kind::queue, name, M::amqp_class_id,
                     M::amqp_method_id);
    classic_queue* q = name.empty() ? nullptr : vh().find_queue(name);
    uint64_t count = 0;
    if (q != nullptr) {
        check_exclusive(*q, M::amqp_class_id, M::amqp_method_id);
        if (m.if_unused && !q->state().is_unused()) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - " + q->describe() + " in use");
        }
        if (m.if_empty && q->message_count() > 0) {
            fail<M>(reply::precondition_failed,
                    "PRECONDITION_FAILED - " + q->describe() + " is not empty");
        }
        const auto r = q->remove(m.if_unused, m.if_empty);
        count = r.message_count;
        vh().forget_queue(*q);
    }
    // Deleting a missing queue succeeds with 0 messages, as in RabbitMQ.
    if (!m.nowait)
        send(amqp::queue_delete_ok{static_cast<uint32_t>(count)});
}

}  // namespace qmq::broker
