#pragma once

// Headers-exchange matching as RabbitMQ's rabbit_exchange_type_headers does
// it. The binding's x-match argument picks the rule:
//   all (default) / any          -- binding keys starting "x-" are ignored
//   all-with-x / any-with-x      -- they take part (x-match itself never)
// A binding value of type void ('V') only asks for the key to be present;
// otherwise values must be equal (numbers compare by value across types).
// With no keys to compare, all matches every message and any matches none.

#include <string>

#include "amqp/field_table.h"
#include "common/result.h"

namespace qmq::broker {

enum class x_match : uint8_t { all, any, all_with_x, any_with_x };

// The x-match of binding arguments; 406-style error text for a bad one.
result<x_match> parse_x_match(const amqp::field_table& binding_args);

bool headers_match(x_match mode, const amqp::field_table& binding_args,
                   const amqp::field_table* message_headers);

}  // namespace qmq::broker
