#pragma once

// Who publishes where and who consumes what, computed once from the options.
//
// Queues are PREFIX-0 .. PREFIX-(N-1). With the default exchange or a direct
// or topic exchange without a fixed routing key, producer p cycles over its
// own share of the queues (message seq s goes to target (s-1) mod n), so every
// queue gets a producer as long as there are queues. With a fanout exchange
// or a fixed routing key every message reaches every queue. Consumers are
// spread the same way: consumer c subscribes to each queue of its share, so
// each queue has exactly one AMQP consumer when consumers <= queues.

#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/options.h"

namespace qmq::bench {

struct route {
    std::string routing_key;
    std::vector<uint32_t> queues;  // the queues a message on this route reaches
};

struct topology {
    std::string exchange;  // empty: the default exchange
    std::vector<std::string> queue_names;
    std::vector<std::string> binding_keys;               // per queue; empty when no named exchange
    std::vector<std::vector<route>> producer_routes;     // per producer, >= 1 route
    std::vector<std::vector<uint32_t>> consumer_queues;  // per consumer

    // The route of message `seq` (1-based) of producer p.
    const route& route_of(uint32_t producer, uint64_t seq) const {
        const auto& rs = producer_routes[producer];
        return rs[(seq - 1) % rs.size()];
    }
};

// The indexes in [0, items) that worker w of `workers` takes: w mod items
// when there are at least as many workers as items, else every item i with
// i mod workers == w.
std::vector<uint32_t> share_of(uint32_t worker, uint32_t workers, uint32_t items);

topology make_topology(const options& o);

}  // namespace qmq::bench
