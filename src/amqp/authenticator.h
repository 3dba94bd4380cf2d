#pragma once

// How the connection machine asks whoever owns users and vhosts (the broker)
// whether a login or a vhost is allowed. Implemented by broker::broker.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace qmq::amqp {

// ok, or the reply code and text to close the connection with
// (403 ACCESS_REFUSED for a bad login, 530 NOT_ALLOWED for an unknown vhost).
struct auth_decision {
    uint16_t reply_code = 0;  // 0 means allowed
    std::string reply_text;

    bool ok() const { return reply_code == 0; }
    static auth_decision allow() { return {}; }
    static auth_decision refuse(uint16_t code, std::string text) { return {code, std::move(text)}; }
};

struct authenticator {
    virtual ~authenticator() = default;
    // mechanism is "PLAIN" or "AMQPLAIN"; peer_is_loopback is what the server
    // gave the connection (guest may log in only from loopback).
    virtual auth_decision login(std::string_view mechanism, std::string_view user,
                                std::string_view password, bool peer_is_loopback) = 0;
    virtual auth_decision open_vhost(std::string_view user, std::string_view vhost) = 0;
};

}  // namespace qmq::amqp
