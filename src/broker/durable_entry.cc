#include "broker/durable_entry.h"

#include <type_traits>

#include "amqp/content.h"

namespace qmq::broker {
namespace {

void put_refs(byte_writer& w, const std::vector<queue::message_ref>& refs) {
    w.u32(static_cast<uint32_t>(refs.size()));
    for (auto r : refs) {
        w.u64(r.value);
    }
}

std::vector<queue::message_ref> get_refs(byte_reader& r) {
    const uint32_t n = r.u32();
    std::vector<queue::message_ref> refs;
    // Each ref takes 8 bytes: a count beyond what remains is damage.
    if (n > r.remaining() / 8) {
        r.fail();
        return refs;
    }
    refs.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        refs.emplace_back(r.u64());
    }
    return refs;
}

void put_short(byte_writer& w, const std::string& s) {
    // AMQP short strings (exchange, routing key) are at most 255 bytes.
    w.u8(static_cast<uint8_t>(s.size()));
    w.raw(std::string_view(s).substr(0, 255));
}

void encode_command(byte_writer& w, const queue::command& cmd) {
    w.u8(static_cast<uint8_t>(cmd.index()));
    std::visit(
        [&](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, queue::enqueue>) {
                w.u64(c.publisher.value);
                w.u64(c.publisher_seq);
                w.u64(c.dedup_key);
                w.u32(c.size);
                w.u8(c.priority);
                w.u8(c.expiration_ms ? 1 : 0);
                w.u64(c.expiration_ms.value_or(0));
            } else if constexpr (std::is_same_v<T, queue::checkout>) {
                w.u64(c.consumer.value);
                w.u64(c.owner.value);
                w.u32(c.prefetch);
                w.u32(static_cast<uint32_t>(c.priority));
                w.u8(c.exclusive ? 1 : 0);
            } else if constexpr (std::is_same_v<T, queue::cancel>) {
                w.u64(c.consumer.value);
            } else if constexpr (std::is_same_v<T, queue::settle> ||
                                 std::is_same_v<T, queue::return_messages> ||
                                 std::is_same_v<T, queue::discard>) {
                w.u64(c.consumer.value);
                put_refs(w, c.refs);
            } else if constexpr (std::is_same_v<T, queue::credit>) {
                w.u64(c.consumer.value);
                w.u32(c.prefetch);
            } else if constexpr (std::is_same_v<T, queue::dequeue>) {
                w.u64(c.consumer.value);
                w.u64(c.owner.value);
                w.u8(c.no_ack ? 1 : 0);
            } else if constexpr (std::is_same_v<T, queue::down>) {
                w.u64(c.owner.value);
                w.u8(static_cast<uint8_t>(c.kind));
            } else if constexpr (std::is_same_v<T, queue::up>) {
                w.u64(c.owner.value);
            } else if constexpr (std::is_same_v<T, queue::delete_queue>) {
                w.u8(c.if_unused ? 1 : 0);
                w.u8(c.if_empty ? 1 : 0);
            } else if constexpr (std::is_same_v<T, queue::dlx_settle>) {
                put_refs(w, c.refs);
            } else {
                static_assert(std::is_same_v<T, queue::purge> || std::is_same_v<T, queue::tick> ||
                              std::is_same_v<T, queue::touch>);
            }
        },
        cmd);
}

template <std::size_t I = 0>
bool default_command(std::size_t tag, queue::command& out) {
    if constexpr (I < std::variant_size_v<queue::command>) {
        if (tag == I) {
            out.emplace<I>();
            return true;
        }
        return default_command<I + 1>(tag, out);
    } else {
        return false;
    }
}

bool decode_command(byte_reader& r, queue::command& cmd) {
    if (!default_command(r.u8(), cmd)) {
        return false;
    }
    std::visit(
        [&](auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, queue::enqueue>) {
                c.publisher = queue::owner_id(r.u64());
                c.publisher_seq = r.u64();
                c.dedup_key = r.u64();
                c.size = r.u32();
                c.priority = r.u8();
                const bool has_exp = r.u8() != 0;
                const uint64_t exp = r.u64();
                if (has_exp) {
                    c.expiration_ms = exp;
                }
            } else if constexpr (std::is_same_v<T, queue::checkout>) {
                c.consumer = queue::consumer_id(r.u64());
                c.owner = queue::owner_id(r.u64());
                c.prefetch = r.u32();
                c.priority = static_cast<int32_t>(r.u32());
                c.exclusive = r.u8() != 0;
            } else if constexpr (std::is_same_v<T, queue::cancel>) {
                c.consumer = queue::consumer_id(r.u64());
            } else if constexpr (std::is_same_v<T, queue::settle> ||
                                 std::is_same_v<T, queue::return_messages> ||
                                 std::is_same_v<T, queue::discard>) {
                c.consumer = queue::consumer_id(r.u64());
                c.refs = get_refs(r);
            } else if constexpr (std::is_same_v<T, queue::credit>) {
                c.consumer = queue::consumer_id(r.u64());
                c.prefetch = r.u32();
            } else if constexpr (std::is_same_v<T, queue::dequeue>) {
                c.consumer = queue::consumer_id(r.u64());
                c.owner = queue::owner_id(r.u64());
                c.no_ack = r.u8() != 0;
            } else if constexpr (std::is_same_v<T, queue::down>) {
                c.owner = queue::owner_id(r.u64());
                const uint8_t kind = r.u8();
                if (kind > static_cast<uint8_t>(queue::down_kind::unreachable)) {
                    r.fail();
                }
                c.kind = static_cast<queue::down_kind>(kind);
            } else if constexpr (std::is_same_v<T, queue::up>) {
                c.owner = queue::owner_id(r.u64());
            } else if constexpr (std::is_same_v<T, queue::delete_queue>) {
                c.if_unused = r.u8() != 0;
                c.if_empty = r.u8() != 0;
            } else if constexpr (std::is_same_v<T, queue::dlx_settle>) {
                c.refs = get_refs(r);
            }
        },
        cmd);
    return r.ok();
}

}  // namespace

void encode_durable_entry(bytes& out, uint64_t time_ms, const queue::command& cmd,
                          const message* msg) {
    byte_writer w(out);
    w.u8(durable_entry_version);
    w.u64(time_ms);
    encode_command(w, cmd);
    w.u8(msg != nullptr ? 1 : 0);
    if (msg != nullptr) {
        put_short(w, msg->exchange);
        put_short(w, msg->routing_key);
        amqp::encode_properties(w, msg->content.properties);
        w.u32(static_cast<uint32_t>(msg->content.body.size()));
        w.raw(bytes_view(msg->content.body));
    }
}

result<durable_entry> decode_durable_entry(bytes_view data) {
    byte_reader r(data);
    const auto bad = [](const char* what) {
        return error{1, std::string("bad durable queue entry: ") + what};
    };
    if (r.u8() != durable_entry_version) {
        return bad("unknown version");
    }
    durable_entry e;
    e.time_ms = r.u64();
    if (!decode_command(r, e.cmd)) {
        return bad("command");
    }
    if (r.u8() != 0) {
        auto m = std::make_shared<message>();
        m->exchange = r.take_string(r.u8());
        m->routing_key = r.take_string(r.u8());
        auto props = amqp::decode_properties(r);
        if (!props) {
            return bad("properties");
        }
        m->content.properties = std::move(*props);
        const auto body = r.take(r.u32());
        m->content.body.assign(body.begin(), body.end());
        e.msg = std::move(m);
    }
    if (!r.ok() || !r.at_end()) {
        return bad("truncated or trailing bytes");
    }
    return e;
}

}  // namespace qmq::broker
