#include "broker/session.h"

#include <map>

#include "amqp/constants.h"
#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/durable_engine.h"
#include "broker/vhost.h"

namespace qmq::broker {

struct session_channels {
    std::map<uint16_t, std::unique_ptr<channel_state>> map;
};

session::session(broker& b, session_sink& sink, std::string user, std::string vhost,
                 std::string connection_name)
    : _broker(b),
      _sink(sink),
      _user(std::move(user)),
      _vhost(std::move(vhost)),
      _connection_name(std::move(connection_name)),
      _channels(std::make_unique<session_channels>()) {}

session::~session() {
    if (!_closed) {
        on_connection_closed();
    }
}

channel_state* session::find_channel(uint16_t channel) {
    auto it = _channels->map.find(channel);
    return it == _channels->map.end() ? nullptr : it->second.get();
}

void session::on_channel_opened(uint16_t channel) {
    if (_closed || _channels->map.contains(channel)) {
        return;
    }
    const uint64_t owner = _broker.register_owner(this, channel);
    _channels->map.emplace(channel, std::make_unique<channel_state>(*this, channel, owner));
}

void session::on_method(uint16_t channel, const amqp::method& m, amqp::content* content) {
    channel_state* ch = find_channel(channel);
    if (_closed || ch == nullptr) {
        return;
    }
    try {
        ch->on_method(m, content);
    } catch (const channel_error& e) {
        // Confirms decided before the failing method still go out first.
        ch->on_batch_end();
        if (amqp::is_hard_error(e.code)) {
            _sink.close_connection(e.code, e.text);
        } else {
            drop_channel(channel);
            _sink.close_channel(channel, e.code, e.text, e.class_id, e.method_id);
        }
    }
    if (vhost* vh = _broker.find_vhost(_vhost)) {
        vh->collect_garbage();
    }
    // exchange.* / queue.* may change durable metadata: it is on disk before
    // the reply leaves (the sink writes on a later loop turn).
    const uint16_t cls = amqp::id_of(m).class_id;
    if (durable_engine* d = _broker.durable(); d != nullptr && (cls == 40 || cls == 50)) {
        d->save_metadata_if_changed(_broker);
    }
}

void session::drop_channel(uint16_t channel) {
    auto it = _channels->map.find(channel);
    if (it == _channels->map.end()) {
        return;
    }
    // Detach first: releasing returns messages, which may be redelivered to
    // other consumers but must not find this channel any more.
    std::unique_ptr<channel_state> ch = std::move(it->second);
    _channels->map.erase(it);
    ch->release();
    _broker.unregister_owner(ch->owner());
}

void session::on_channel_closed(uint16_t channel) {
    drop_channel(channel);
    if (vhost* vh = _broker.find_vhost(_vhost)) {
        vh->collect_garbage();
    }
}

void session::on_batch_end() {
    if (_closed) {
        return;
    }
    for (auto& [number, ch] : _channels->map) {
        ch->on_batch_end();
    }
}

void session::on_connection_closed() {
    if (_closed) {
        return;
    }
    _closed = true;
    while (!_channels->map.empty()) {
        drop_channel(_channels->map.begin()->first);
    }
    vhost* vh = _broker.find_vhost(_vhost);
    if (vh == nullptr) {
        return;
    }
    // Exclusive queues die with their connection.
    std::vector<classic_queue*> owned;
    for (const auto& [name, q] : vh->queues()) {
        if (q->exclusive_owner() == this) {
            owned.push_back(q.get());
        }
    }
    for (classic_queue* q : owned) {
        (void)q->remove(false, false);
        vh->forget_queue(*q);
    }
    vh->collect_garbage();
}

}  // namespace qmq::broker
