#pragma once

// What every client connection shares with the server that accepted it: the
// broker, the protocol limits, and a way to say it is finished. One per
// event-loop thread (one thread for now).

#include <cstdint>
#include <functional>

#include "amqp/connection.h"
#include "server/flow_control.h"

namespace qmq::broker {
class broker;
}

namespace qmq::server {

// Reading pauses while a write this large is still in flight.
constexpr std::size_t output_backlog_max = 1u << 20;
// Bytes asked of the kernel per read: small for an idle connection, doubled
// each time a read fills the buffer, up to the max for a busy publisher.
constexpr std::size_t read_chunk_min = 4u << 10;
constexpr std::size_t read_chunk_max = 128u << 10;

struct connection_hub {
    broker::broker& broker;
    amqp::connection_limits limits;
    amqp::server_info info;
    uint32_t connections_max = 0;
    // Called once a connection's socket is closed; the server drops it.
    std::function<void(uint64_t id)> on_done;
    // Publisher flow control (null: off), owned by the server.
    flow_control* flow = nullptr;
};

}  // namespace qmq::server
