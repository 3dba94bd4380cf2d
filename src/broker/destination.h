#pragma once

// Where a binding points: a queue, or another exchange (exchange-to-exchange
// bindings). Names are unique per kind within one vhost.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace qmq::broker {

enum class destination_kind : uint8_t { queue, exchange };

struct destination {
    destination_kind kind = destination_kind::queue;
    std::string name;

    static destination queue(std::string n) { return {destination_kind::queue, std::move(n)}; }
    static destination exchange(std::string n) {
        return {destination_kind::exchange, std::move(n)};
    }

    auto operator<=>(const destination&) const = default;
    bool operator==(const destination&) const = default;
};

struct destination_hash {
    std::size_t operator()(const destination& d) const noexcept {
        return std::hash<std::string>{}(d.name) ^ static_cast<std::size_t>(d.kind);
    }
};

}  // namespace qmq::broker
