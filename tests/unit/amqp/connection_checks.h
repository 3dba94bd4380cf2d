#pragma once

// Helpers shared by the connection machine's tests (connection_*_test.cc).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "amqp/connection.h"
#include "test_util.h"

namespace qmq::amqp::testing {

inline content make_content(std::size_t body_size, std::string type = "text/plain") {
    content c;
    c.properties.content_type = std::move(type);
    c.properties.delivery_mode = 2;
    c.body.resize(body_size);
    for (std::size_t i = 0; i < body_size; ++i) {
        c.body[i] = static_cast<std::byte>(i * 31);
    }
    return c;
}

// The closing reply the server sent, as (code, text).
inline std::pair<uint16_t, std::string> closed_with(const harness& h) {
    const auto* c = h.last<connection_close>();
    if (c == nullptr) {
        return {0, "no connection.close sent"};
    }
    return {c->reply_code, c->reply_text};
}

inline bool contains(const std::string& s, std::string_view part) {
    return s.find(part) != std::string::npos;
}

}  // namespace qmq::amqp::testing
