#pragma once

// HOST:PORT addresses given in flags and the config file. IPv6 hosts are
// written in brackets ("[::1]:5672"), as in URLs, so the last colon is the
// port separator without ambiguity.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace qmq::server {

struct endpoint {
    std::string host;
    uint16_t port = 0;  // 0 asks the kernel for a free port (tests use this)

    std::string to_string() const;
    bool operator==(const endpoint&) const = default;
};

// Parses "HOST:PORT"; the error message says what is wrong with `text`.
result<endpoint> parse_endpoint(std::string_view text);

}  // namespace qmq::server
