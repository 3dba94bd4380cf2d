#include "broker/queue_args.h"

#include <charconv>

namespace qmq::broker {
namespace {

constexpr int precondition_failed = 406;
// RabbitMQ caps TTLs and x-expires at the largest Erlang timer (2^32-1 ms).
constexpr int64_t timer_ms_max = 4294967295;

// RabbitMQ's names for field types, as its error texts print them.
std::string_view type_name(const amqp::field_value& v) {
    switch (v.type_tag()) {
        case 't':
            return "bool";
        case 'b':
            return "byte";
        case 'B':
            return "unsignedbyte";
        case 's':
            return "short";
        case 'u':
            return "unsignedshort";
        case 'I':
            return "signedint";
        case 'i':
            return "unsignedint";
        case 'l':
            return "long";
        case 'f':
            return "float";
        case 'd':
            return "double";
        case 'D':
            return "decimal";
        case 'S':
            return "longstr";
        case 'A':
            return "array";
        case 'T':
            return "timestamp";
        case 'F':
            return "table";
        case 'V':
            return "void";
        case 'x':
            return "binary";
    }
    return "unknown";
}

error invalid(std::string_view arg, std::string_view what, std::string_view detail) {
    return error{precondition_failed, "PRECONDITION_FAILED - invalid arg '" + std::string(arg) +
                                          "' for " + std::string(what) + ": " +
                                          std::string(detail)};
}

// An integer argument in [min, max]; nullopt when absent.
result<std::optional<int64_t>> int_arg(const amqp::field_table& args, std::string_view name,
                                       std::string_view what, int64_t min, int64_t max) {
    const amqp::field_value* v = args.find(name);
    if (v == nullptr) {
        return std::optional<int64_t>{};
    }
    auto i = v->as_int();
    if (!i) {
        return invalid(name, what, "{unacceptable_type," + std::string(type_name(*v)) + "}");
    }
    if (*i < min) {
        if (min == 1 && *i == 0) {
            return invalid(name, what, "{value_zero,0}");
        }
        return invalid(name, what, "{value_negative," + std::to_string(*i) + "}");
    }
    if (*i > max) {
        return invalid(name, what,
                       "{value_too_large," + std::to_string(*i) + "," + std::to_string(max) + "}");
    }
    return std::optional<int64_t>{*i};
}

result<const std::string*> string_arg(const amqp::field_table& args, std::string_view name,
                                      std::string_view what) {
    const amqp::field_value* v = args.find(name);
    if (v == nullptr) {
        return static_cast<const std::string*>(nullptr);
    }
    const std::string* s = v->get_if<std::string>();
    if (s == nullptr) {
        return invalid(name, what, "{unacceptable_type," + std::string(type_name(*v)) + "}");
    }
    return s;
}

}  // namespace

result<queue_settings> parse_queue_args(const amqp::field_table& args, std::string_view what) {
    queue_settings out;
    auto& m = out.machine;

    auto type = string_arg(args, "x-queue-type", what);
    if (!type)
        return type.err();
    if (*type != nullptr) {
        const std::string& t = **type;
        if (t == "quorum" || t == "stream") {
            return error{precondition_failed,
                         "PRECONDITION_FAILED - invalid arg 'x-queue-type' for " +
                             std::string(what) + ": " + t +
                             " queues are not supported yet by QuorumMQ"};
        }
        if (t != "classic") {
            return invalid("x-queue-type", what, "{unsupported_queue_type,<<\"" + t + "\">>}");
        }
    }

    auto ttl = int_arg(args, "x-message-ttl", what, 0, timer_ms_max);
    if (!ttl)
        return ttl.err();
    if (*ttl)
        m.message_ttl_ms = static_cast<uint64_t>(**ttl);

    auto expires = int_arg(args, "x-expires", what, 1, timer_ms_max);
    if (!expires)
        return expires.err();
    if (*expires)
        m.expires_ms = static_cast<uint64_t>(**expires);

    auto max_len = int_arg(args, "x-max-length", what, 0, INT64_MAX);
    if (!max_len)
        return max_len.err();
    if (*max_len)
        m.max_length = static_cast<uint64_t>(**max_len);

    auto max_bytes = int_arg(args, "x-max-length-bytes", what, 0, INT64_MAX);
    if (!max_bytes)
        return max_bytes.err();
    if (*max_bytes)
        m.max_length_bytes = static_cast<uint64_t>(**max_bytes);

    auto prio = int_arg(args, "x-max-priority", what, 0, queue::priority_max);
    if (!prio)
        return prio.err();
    if (*prio)
        m.max_priority = static_cast<uint8_t>(**prio);

    auto limit = int_arg(args, "x-delivery-limit", what, 0, queue::delivery_count_max);
    if (!limit)
        return limit.err();
    if (*limit)
        m.delivery_limit = static_cast<uint32_t>(**limit);

    auto overflow = string_arg(args, "x-overflow", what);
    if (!overflow)
        return overflow.err();
    if (*overflow != nullptr) {
        const std::string& o = **overflow;
        if (o == "drop-head") {
            m.overflow = queue::overflow_policy::drop_head;
        } else if (o == "reject-publish") {
            m.overflow = queue::overflow_policy::reject_publish;
        } else if (o == "reject-publish-dlx") {
            m.overflow = queue::overflow_policy::reject_publish_dlx;
        } else {
            return invalid("x-overflow", what, "{invalid_value,<<\"" + o + "\">>}");
        }
    }

    if (const amqp::field_value* sac = args.find("x-single-active-consumer")) {
        const bool* b = sac->get_if<bool>();
        if (b == nullptr) {
            return invalid("x-single-active-consumer", what,
                           "{unacceptable_type," + std::string(type_name(*sac)) + "}");
        }
        m.single_active_consumer = *b;
    }

    auto dlx = string_arg(args, "x-dead-letter-exchange", what);
    if (!dlx)
        return dlx.err();
    if (*dlx != nullptr)
        out.dead_letter_exchange = **dlx;

    auto dlrk = string_arg(args, "x-dead-letter-routing-key", what);
    if (!dlrk)
        return dlrk.err();
    if (*dlrk != nullptr) {
        if (!out.dead_letter_exchange) {
            return invalid("x-dead-letter-routing-key", what,
                           "{missing_dead_letter_exchange,<<\"" + **dlrk + "\">>}");
        }
        out.dead_letter_routing_key = **dlrk;
    }
    // Classic queues dead-letter at most once (RabbitMQ ignores
    // x-dead-letter-strategy on them too); the argument is still checked.
    auto strategy = string_arg(args, "x-dead-letter-strategy", what);
    if (!strategy)
        return strategy.err();
    if (*strategy != nullptr && **strategy != "at-most-once" && **strategy != "at-least-once") {
        return invalid("x-dead-letter-strategy", what,
                       "{invalid_value,<<\"" + **strategy + "\">>}");
    }
    m.dead_letter = out.dead_letter_exchange ? queue::dead_letter_strategy::at_most_once
                                             : queue::dead_letter_strategy::none;

    auto mode = string_arg(args, "x-queue-mode", what);
    if (!mode)
        return mode.err();
    if (*mode != nullptr && **mode != "default" && **mode != "lazy") {
        return invalid("x-queue-mode", what, "{invalid_value,<<\"" + **mode + "\">>}");
    }
    return out;
}

result<uint64_t> parse_expiration(std::string_view text) {
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
        v > static_cast<uint64_t>(timer_ms_max)) {
        return error{precondition_failed,
                     "PRECONDITION_FAILED - invalid expiration '" + std::string(text) + "'"};
    }
    return v;
}

}  // namespace qmq::broker
