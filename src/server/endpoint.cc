#include "server/endpoint.h"

#include <fmt/format.h>

#include <charconv>

namespace qmq::server {

std::string endpoint::to_string() const {
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

result<endpoint> parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return error{0, fmt::format("'{}' is not HOST:PORT (no port)", text)};
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return error{0, fmt::format("'{}' is not HOST:PORT (write IPv6 hosts in brackets)", text)};
    }
    if (host.empty()) {
        return error{0, fmt::format("'{}' is not HOST:PORT (empty host)", text)};
    }
    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc{} || ptr != end || port > 65535) {
        return error{0, fmt::format("'{}' is not HOST:PORT (port must be 0..65535)", text)};
    }
    return endpoint{std::string(host), static_cast<uint16_t>(port)};
}

}  // namespace qmq::server
