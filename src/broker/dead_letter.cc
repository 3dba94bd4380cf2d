#include "broker/dead_letter.h"

namespace qmq::broker {

std::string_view dead_letter_reason_name(queue::dead_letter_reason r) {
    switch (r) {
        case queue::dead_letter_reason::rejected:
            return "rejected";
        case queue::dead_letter_reason::expired:
            return "expired";
        case queue::dead_letter_reason::maxlen:
            return "maxlen";
        case queue::dead_letter_reason::delivery_limit:
            return "delivery_limit";
    }
    return "rejected";
}

message_ptr make_dead_lettered(const message& msg, std::string_view queue_name,
                               queue::dead_letter_reason reason, uint64_t now_ms,
                               const std::string& dlx, const std::string& routing_key) {
    auto out = std::make_shared<message>();
    out->exchange = dlx;
    out->routing_key = routing_key;
    out->content = msg.content;
    amqp::basic_properties& p = out->content.properties;
    amqp::field_table headers = p.headers.value_or(amqp::field_table{});
    const std::string reason_text(dead_letter_reason_name(reason));

    amqp::field_array old_deaths;
    if (const amqp::field_array* a = headers.get_array("x-death")) {
        old_deaths = *a;
    }
    int64_t count = 1;
    amqp::field_array deaths;
    for (auto& d : old_deaths) {
        const amqp::field_table* t = d.get_if<amqp::field_table>();
        if (t != nullptr) {
            const std::string* q = t->get_string("queue");
            const std::string* r = t->get_string("reason");
            if (q != nullptr && r != nullptr && *q == queue_name && *r == reason_text) {
                count = t->get_int("count").value_or(0) + 1;
                continue;  // replaced by the entry at the head
            }
        }
        deaths.push_back(std::move(d));
    }
    amqp::field_table entry;
    entry.set("count", amqp::field_value(count));
    entry.set("reason", amqp::field_value(reason_text));
    entry.set("queue", amqp::field_value(std::string(queue_name)));
    entry.set("time", amqp::field_value(amqp::timestamp_value{now_ms / 1000}));
    entry.set("exchange", amqp::field_value(msg.exchange));
    entry.set("routing-keys", amqp::field_value(amqp::field_array{msg.routing_key}));
    if (p.expiration) {
        entry.set("original-expiration", amqp::field_value(*p.expiration));
        p.expiration.reset();
    }
    deaths.insert(deaths.begin(), amqp::field_value(std::move(entry)));
    headers.set("x-death", amqp::field_value(std::move(deaths)));
    if (!headers.contains("x-first-death-reason")) {
        headers.set("x-first-death-reason", amqp::field_value(reason_text));
        headers.set("x-first-death-queue", amqp::field_value(std::string(queue_name)));
        headers.set("x-first-death-exchange", amqp::field_value(msg.exchange));
    }
    headers.set("x-last-death-reason", amqp::field_value(reason_text));
    headers.set("x-last-death-queue", amqp::field_value(std::string(queue_name)));
    headers.set("x-last-death-exchange", amqp::field_value(msg.exchange));
    p.headers = std::move(headers);
    return out;
}

bool dead_letter_cycle(const message& m, std::string_view queue_name) {
    const auto& h = m.content.properties.headers;
    if (!h) {
        return false;
    }
    const amqp::field_array* deaths = h->get_array("x-death");
    if (deaths == nullptr) {
        return false;
    }
    bool seen = false;
    for (const auto& d : *deaths) {
        const amqp::field_table* t = d.get_if<amqp::field_table>();
        if (t == nullptr) {
            continue;
        }
        const std::string* r = t->get_string("reason");
        if (r != nullptr && *r == "rejected") {
            return false;
        }
        const std::string* q = t->get_string("queue");
        if (q != nullptr && *q == queue_name) {
            seen = true;
        }
    }
    return seen;
}

}  // namespace qmq::broker
