#pragma once

// Small helpers shared by the files of channel_state (channel.cc,
// channel_topology.cc): throwing the channel_error that closes a channel or
// connection, and names RabbitMQ reserves.

#include <cstdint>
#include <string>
#include <string_view>

#include "amqp/constants.h"
#include "broker/channel.h"

namespace qmq::broker::channel_detail {

namespace reply = amqp::reply;

template <typename M>
[[noreturn]] void fail(uint16_t code, std::string text) {
    throw channel_error{code, std::move(text), M::amqp_class_id, M::amqp_method_id};
}

[[noreturn]] inline void fail_ids(uint16_t code, std::string text, uint16_t class_id,
                                  uint16_t method_id) {
    throw channel_error{code, std::move(text), class_id, method_id};
}

inline const char* bool_text(bool b) {
    return b ? "true" : "false";
}

inline bool reserved_name(std::string_view name) {
    return name.starts_with("amq.");
}

}  // namespace qmq::broker::channel_detail
