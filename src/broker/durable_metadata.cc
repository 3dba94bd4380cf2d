#include "broker/durable_metadata.h"

#include <algorithm>

#include "amqp/field_table.h"
#include "broker/broker.h"
#include "broker/durable_engine.h"
#include "broker/queue_args.h"
#include "broker/vhost.h"
#include "common/log.h"

namespace qmq::broker {
namespace {

constexpr uint8_t metadata_version = 1;

void put_str8(byte_writer& w, const std::string& s) {
    w.u8(static_cast<uint8_t>(std::min<std::size_t>(s.size(), 255)));
    w.raw(std::string_view(s).substr(0, 255));
}

bool predeclared(const std::string& name) {
    return name.empty() || name.rfind("amq.", 0) == 0;
}

bool durable_exchange(vhost& vh, const std::string& name) {
    exchange* x = vh.find_exchange(name);
    return x != nullptr && x->settings().durable;
}

bool durable_queue_named(vhost& vh, const std::string& name) {
    classic_queue* q = vh.find_queue(name);
    return q != nullptr && q->declaration().durable && !q->declaration().exclusive;
}

}  // namespace

bytes encode_metadata(broker& b) {
    bytes out;
    byte_writer w(out);
    w.u8(metadata_version);
    w.u32(static_cast<uint32_t>(b.cfg().vhosts.size()));
    for (const auto& name : b.cfg().vhosts) {
        w.u16(static_cast<uint16_t>(name.size()));
        w.raw(std::string_view(name));
        vhost* vh = b.find_vhost(name);
        if (vh == nullptr) {
            w.u32(0);
            w.u32(0);
            w.u32(0);
            continue;
        }
        std::vector<const exchange*> xs;
        for (const auto& [xname, x] : vh->exchanges()) {
            if (x->settings().durable && !predeclared(xname)) {
                xs.push_back(x.get());
            }
        }
        w.u32(static_cast<uint32_t>(xs.size()));
        for (const exchange* x : xs) {
            put_str8(w, x->name());
            w.u8(static_cast<uint8_t>(x->settings().type));
            w.u8(x->settings().auto_delete ? 1 : 0);
            w.u8(x->settings().internal ? 1 : 0);
            amqp::encode_table(w, x->settings().arguments);
        }
        std::vector<const classic_queue*> qs;
        for (const auto& [qname, q] : vh->queues()) {
            if (q->declaration().durable && !q->declaration().exclusive) {
                qs.push_back(q.get());
            }
        }
        w.u32(static_cast<uint32_t>(qs.size()));
        for (const classic_queue* q : qs) {
            put_str8(w, q->name());
            w.u8(q->declaration().auto_delete ? 1 : 0);
            amqp::encode_table(w, q->declaration().arguments);
        }
        const std::size_t count_at = out.size();
        w.u32(0);
        uint32_t bindings = 0;
        for (const auto& [xname, x] : vh->exchanges()) {
            if (!x->settings().durable) {
                continue;
            }
            for (const auto& bd : x->bindings()) {
                const bool dest_durable = bd.dest.kind == destination_kind::queue
                                              ? durable_queue_named(*vh, bd.dest.name)
                                              : durable_exchange(*vh, bd.dest.name);
                if (!dest_durable) {
                    continue;
                }
                put_str8(w, xname);
                w.u8(static_cast<uint8_t>(bd.dest.kind));
                put_str8(w, bd.dest.name);
                put_str8(w, bd.routing_key);
                amqp::encode_table(w, bd.arguments);
                ++bindings;
            }
        }
        w.patch_u32(count_at, bindings);
    }
    return out;
}

result<void> restore_metadata(broker& b, bytes_view data) {
    byte_reader r(data);
    const auto bad = [](const std::string& what) {
        return error{1, "bad durable metadata: " + what};
    };
    if (r.u8() != metadata_version) {
        return bad("unknown version");
    }
    const uint32_t vhosts = r.u32();
    for (uint32_t v = 0; v < vhosts && r.ok(); ++v) {
        const std::string vname = r.take_string(r.u16());
        vhost* vh = b.find_vhost(vname);
        if (vh == nullptr && r.ok()) {
            QMQ_LOG_WARN("durable metadata of unknown vhost '{}' skipped", vname);
        }
        const uint32_t xs = r.u32();
        for (uint32_t i = 0; i < xs && r.ok(); ++i) {
            exchange_settings s;
            const std::string name = r.take_string(r.u8());
            const uint8_t type = r.u8();
            s.durable = true;
            s.auto_delete = r.u8() != 0;
            s.internal = r.u8() != 0;
            auto args = amqp::decode_table(r);
            if (!args || type > static_cast<uint8_t>(exchange_type::headers)) {
                return bad("exchange " + name);
            }
            s.type = static_cast<exchange_type>(type);
            s.arguments = std::move(*args);
            if (vh != nullptr && vh->find_exchange(name) == nullptr) {
                vh->add_exchange(name, std::move(s));
            }
        }
        const uint32_t qs = r.u32();
        for (uint32_t i = 0; i < qs && r.ok(); ++i) {
            const std::string name = r.take_string(r.u8());
            const bool auto_delete = r.u8() != 0;
            auto args = amqp::decode_table(r);
            if (!args) {
                return bad("queue " + name);
            }
            if (vh == nullptr || vh->find_queue(name) != nullptr) {
                continue;
            }
            auto settings = parse_queue_args(*args, vh->describe_queue(name));
            if (!settings) {
                QMQ_LOG_ERROR("durable {} not restored: {}", vh->describe_queue(name),
                              settings.err().message);
                continue;
            }
            queue_declaration d{true, false, auto_delete, std::move(*args)};
            vh->add_queue(name, std::move(d), std::move(*settings), nullptr);
        }
        const uint32_t bs = r.u32();
        for (uint32_t i = 0; i < bs && r.ok(); ++i) {
            const std::string source = r.take_string(r.u8());
            const uint8_t kind = r.u8();
            const std::string dest = r.take_string(r.u8());
            const std::string key = r.take_string(r.u8());
            auto args = amqp::decode_table(r);
            if (!args || kind > static_cast<uint8_t>(destination_kind::exchange)) {
                return bad("binding of " + source);
            }
            if (vh == nullptr) {
                continue;
            }
            exchange* x = vh->find_exchange(source);
            if (x != nullptr) {
                x->bind(destination{static_cast<destination_kind>(kind), dest}, key, *args);
            }
        }
    }
    if (!r.ok() || !r.at_end()) {
        return bad("truncated or trailing bytes");
    }
    return {};
}

result<void> durable_engine::load_metadata(broker& b) {
    auto data = _states.load_config(storage::group_id(metadata_group));
    if (!data) {
        return data.err();
    }
    if (*data) {
        if (auto r = restore_metadata(b, bytes_view(**data)); !r) {
            return r;
        }
    }
    // What was restored is what is saved (queues restored without their
    // vhost are dropped from the file at the next change).
    _saved_metadata = encode_metadata(b);
    return {};
}

void durable_engine::save_metadata_if_changed(broker& b) {
    // Called on every server tick: the periodic work of the engine rides on it.
    tick();
    bytes now = encode_metadata(b);
    if (now == _saved_metadata) {
        return;
    }
    if (auto r = _states.save_config(storage::group_id(metadata_group), bytes_view(now)); !r) {
        // Retried on every tick until it succeeds; say so once.
        if (!_metadata_failing) {
            QMQ_LOG_ERROR("durable metadata not saved (retrying every tick): {}", r.err().message);
        }
        _metadata_failing = true;
        return;
    }
    if (_metadata_failing) {
        QMQ_LOG_INFO("durable metadata saved again");
    }
    _metadata_failing = false;
    _saved_metadata = std::move(now);
}

}  // namespace qmq::broker
