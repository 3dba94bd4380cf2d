#pragma once

// The broker: vhosts (each with its exchanges, queues and bindings), users
// and permissions, and the sessions of open connections. It is the
// authenticator the amqp connection machine asks at login and
// connection.open. Single-threaded by design for now: one event-loop thread
// calls everything here, and ownership is explicit (the broker owns vhosts,
// a vhost owns its exchanges and queues, sessions are owned by the server
// and register here while alive) so that shards can come later.
//
// Time: the broker never reads a clock. The server calls tick(now_ms)
// periodically (every 100 ms is plenty) and passes now_ms into sessions, and
// that drives TTL expiry and x-expires.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "amqp/authenticator.h"
#include "broker/access_control.h"
#include "broker/config.h"

namespace qmq::broker {

class vhost;
class session;
class durable_engine;

class broker final : public amqp::authenticator {
  public:
    explicit broker(config cfg);
    ~broker() override;
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;

    // amqp::authenticator
    amqp::auth_decision login(std::string_view mechanism, std::string_view user,
                              std::string_view password, bool peer_is_loopback) override;
    amqp::auth_decision open_vhost(std::string_view user, std::string_view vhost) override;

    // Advances broker time: expires messages (x-message-ttl, expiration) and
    // unused queues (x-expires). now_ms must not go backwards (it is clamped).
    void tick(uint64_t now_ms);
    uint64_t now_ms() const { return _now_ms; }

    const config& cfg() const { return _cfg; }
    const access_control& access() const { return _access; }
    vhost* find_vhost(std::string_view name);

    // Sessions register themselves (session.cc); the broker uses this to
    // reach consumers and publishers by owner id.
    uint64_t register_owner(session* s, uint16_t channel);
    void unregister_owner(uint64_t owner);
    struct owner_ref {
        session* s = nullptr;
        uint16_t channel = 0;
    };
    const owner_ref* find_owner(uint64_t owner) const;

    // The node's durable storage (null: nothing is persisted, e.g. tests).
    // Set by the server before any queue is declared.
    void set_durable(durable_engine* engine) { _durable = engine; }
    durable_engine* durable() const { return _durable; }

    // A fresh "amq.gen-..." name (server-named queues), unique per process.
    std::string generate_name(std::string_view prefix);

  private:
    config _cfg;
    access_control _access;
    std::unordered_map<std::string, std::unique_ptr<vhost>> _vhosts;
    std::unordered_map<uint64_t, owner_ref> _owners;
    uint64_t _next_owner = 1;
    uint64_t _name_counter = 0;
    uint64_t _now_ms = 0;
    durable_engine* _durable = nullptr;
};

}  // namespace qmq::broker
