#pragma once

// One AMQP connection's broker-side state: its channels, their consumers,
// unacknowledged deliveries, publisher confirms and transactions, and the
// exclusive queues it owns. Created by the server after connection_opened
// with the user and vhost the connection machine authenticated; destroyed
// after on_connection_closed(). It answers only through its session_sink.
//
// Errors follow RabbitMQ: soft ones (404, 405, 406, 403 on a resource) close
// the channel through the sink; hard ones (503, 504, 530, 540) close the
// connection.

#include <cstdint>
#include <memory>
#include <string>

#include "amqp/content.h"
#include "amqp/methods.h"
#include "broker/session_sink.h"

namespace qmq::broker {

class broker;
class channel_state;

class session {
  public:
    session(broker& b, session_sink& sink, std::string user, std::string vhost,
            std::string connection_name);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void on_channel_opened(uint16_t channel);
    // `content` is the message for basic.publish (null otherwise); the
    // session may move its body out.
    void on_method(uint16_t channel, const amqp::method& m, amqp::content* content);
    // The server has handed over everything decoded from one socket read:
    // channels send what they coalesce across a batch (publisher confirms
    // with multiple=true) before the connection writes its output.
    void on_batch_end();
    // The channel is gone (closed by the peer or by the connection machine):
    // its consumers are cancelled and unacked messages returned to queues.
    void on_channel_closed(uint16_t channel);
    // Everything is gone: channels as above, exclusive queues deleted.
    void on_connection_closed();

    const std::string& user() const { return _user; }
    const std::string& vhost_name() const { return _vhost; }
    const std::string& connection_name() const { return _connection_name; }
    session_sink& sink() { return _sink; }
    broker& owner_broker() { return _broker; }

    // Used by queues on any connection to reach this session's channels.
    channel_state* find_channel(uint16_t channel);

  private:
    friend class channel_state;
    void drop_channel(uint16_t channel);
    broker& _broker;
    session_sink& _sink;
    std::string _user;
    std::string _vhost;
    std::string _connection_name;
    std::unique_ptr<struct session_channels> _channels;
    bool _closed = false;
};

}  // namespace qmq::broker
