#pragma once

// How a broker session talks back to its connection. The server implements
// it on top of amqp::connection; tests implement it with a recorder. A
// delivery to a consumer on another connection goes through that
// connection's sink, so every call here may come while another session's
// method is being handled (one event-loop thread: calls are synchronous).

#include <cstdint>
#include <string>

#include "amqp/content.h"
#include "amqp/methods.h"

namespace qmq::broker {

struct session_sink {
    virtual ~session_sink() = default;
    virtual void send_method(uint16_t channel, const amqp::method& m,
                             const amqp::content* content) = 0;
    // channel.close with the code and text; the connection discards that
    // channel's frames until close-ok. The session has already dropped it.
    virtual void close_channel(uint16_t channel, uint16_t code, std::string text, uint16_t class_id,
                               uint16_t method_id) = 0;
    virtual void close_connection(uint16_t code, std::string text) = 0;
    virtual void set_blocked(bool blocked) = 0;
};

}  // namespace qmq::broker
