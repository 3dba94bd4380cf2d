#pragma once

// A thin owner of one rabbitmq-c connection with channel 1 open. rabbitmq-c
// is blocking and not thread-safe per connection, so each producer and each
// consumer owns one of these on its own thread.

#include <amqp.h>

#include <string>

#include "common/result.h"

namespace qmq::bench {

constexpr amqp_channel_t bench_channel = 1;

class client {
  public:
    client() = default;
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Connects to `uri` (amqp://user:pass@host:port/vhost), logs in with no
    // heartbeat and opens channel 1. `name` shows in the broker's UI.
    result<void> connect(const std::string& uri, const std::string& name);

    // Closes channel and connection politely (best effort).
    void close();

    amqp_connection_state_t state() { return _conn; }

    // Turns the last RPC reply of this connection into an error, if it is one.
    result<void> check(const std::string& what);

  private:
    amqp_connection_state_t _conn = nullptr;
    bool _open = false;
};

// A readable description of a failed rabbitmq-c RPC reply.
std::string describe(const amqp_rpc_reply_t& reply);

inline amqp_bytes_t to_amqp(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

}  // namespace qmq::bench
