#include "loadgen/topology.h"

#include "common/assert.h"

namespace qmq::bench {

std::vector<uint32_t> share_of(uint32_t worker, uint32_t workers, uint32_t items) {
    QMQ_ASSERT(worker < workers);
    QMQ_ASSERT(items > 0);
    if (workers >= items) {
        return {worker % items};
    }
    std::vector<uint32_t> out;
    for (uint32_t i = worker; i < items; i += workers) {
        out.push_back(i);
    }
    return out;
}

topology make_topology(const options& o) {
    topology t;
    t.exchange = o.exchange;
    for (uint32_t q = 0; q < o.queues; ++q) {
        t.queue_names.push_back(o.queue_prefix + "-" + std::to_string(q));
    }
    const bool named = !o.exchange.empty();
    if (named) {
        for (uint32_t q = 0; q < o.queues; ++q) {
            t.binding_keys.push_back(o.routing_key.empty() ? t.queue_names[q] : o.routing_key);
        }
    }
    // Every message reaches every queue when the key does not tell them apart.
    const bool broadcast =
        named && (o.exchange_type == exchange_kind::fanout || !o.routing_key.empty());
    std::vector<uint32_t> all;
    for (uint32_t q = 0; q < o.queues; ++q) {
        all.push_back(q);
    }
    for (uint32_t p = 0; p < o.producers; ++p) {
        std::vector<route> routes;
        if (broadcast) {
            routes.push_back({o.routing_key, all});
        } else if (!named && !o.routing_key.empty()) {
            // The default exchange with a fixed key: the queue of that name,
            // if it is one of ours; a key of no queue of ours is a test of
            // unroutable publishing and reaches nothing we consume.
            std::vector<uint32_t> reached;
            for (uint32_t q = 0; q < o.queues; ++q) {
                if (t.queue_names[q] == o.routing_key) {
                    reached.push_back(q);
                }
            }
            routes.push_back({o.routing_key, reached});
        } else {
            for (uint32_t q : share_of(p, o.producers, o.queues)) {
                routes.push_back({t.queue_names[q], {q}});
            }
        }
        t.producer_routes.push_back(std::move(routes));
    }
    for (uint32_t c = 0; c < o.consumers; ++c) {
        t.consumer_queues.push_back(share_of(c, o.consumers, o.queues));
    }
    return t;
}

}  // namespace qmq::bench
