#include "broker/broker.h"

#include "broker/vhost.h"
#include "common/assert.h"

namespace qmq::broker {

broker::broker(config cfg) : _cfg(std::move(cfg)), _access(_cfg) {
    for (const auto& name : _access.vhosts()) {
        _vhosts.emplace(name, std::make_unique<vhost>(*this, name));
    }
}

broker::~broker() = default;

amqp::auth_decision broker::login(std::string_view /*mechanism*/, std::string_view user,
                                  std::string_view password, bool peer_is_loopback) {
    const access_decision d = _access.login(user, password, peer_is_loopback);
    return d.allowed ? amqp::auth_decision::allow()
                     : amqp::auth_decision::refuse(d.reply_code, d.text);
}

amqp::auth_decision broker::open_vhost(std::string_view user, std::string_view vhost_name) {
    const access_decision d = _access.open_vhost(user, vhost_name);
    return d.allowed ? amqp::auth_decision::allow()
                     : amqp::auth_decision::refuse(d.reply_code, d.text);
}

void broker::tick(uint64_t now_ms) {
    _now_ms = std::max(_now_ms, now_ms);
    for (auto& [name, vh] : _vhosts) {
        vh->tick(_now_ms);
        vh->collect_garbage();
    }
}

vhost* broker::find_vhost(std::string_view name) {
    auto it = _vhosts.find(std::string(name));
    return it == _vhosts.end() ? nullptr : it->second.get();
}

uint64_t broker::register_owner(session* s, uint16_t channel) {
    const uint64_t id = _next_owner++;
    _owners.emplace(id, owner_ref{s, channel});
    return id;
}

void broker::unregister_owner(uint64_t owner) {
    _owners.erase(owner);
}

const broker::owner_ref* broker::find_owner(uint64_t owner) const {
    auto it = _owners.find(owner);
    return it == _owners.end() ? nullptr : &it->second;
}

std::string broker::generate_name(std::string_view prefix) {
    // Unique per process; the mixing only makes names look unrelated.
    uint64_t x = ++_name_counter * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out(prefix);
    for (int i = 0; i < 11; ++i) {
        out += digits[x & 63];
        x >>= 6;
    }
    out += '-';
    out += std::to_string(_name_counter);
    return out;
}

}  // namespace qmq::broker
