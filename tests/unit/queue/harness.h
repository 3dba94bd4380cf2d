#pragma once

// A small driver for queue-machine scenarios: it numbers commands, keeps the
// leader's clock, and picks effects out of results by type.

#include <vector>

#include "queue/machine.h"

namespace qmq::queue::testing {

template <typename T>
std::vector<T> effects_of(const apply_result& r) {
    std::vector<T> found;
    for (const auto& e : r.effects) {
        if (const auto* t = std::get_if<T>(&e)) {
            found.push_back(*t);
        }
    }
    return found;
}

inline std::vector<message_ref> delivered_refs(const apply_result& r) {
    std::vector<message_ref> refs;
    for (const auto& d : effects_of<deliver>(r)) {
        refs.push_back(d.ref);
    }
    return refs;
}

inline std::vector<message_ref> dropped_refs(const apply_result& r, drop_reason reason) {
    std::vector<message_ref> refs;
    for (const auto& d : effects_of<dropped>(r)) {
        if (d.reason == reason) {
            refs.insert(refs.end(), d.refs.begin(), d.refs.end());
        }
    }
    return refs;
}

struct harness {
    explicit harness(queue_config cfg = {}, uint64_t start_ms = 1'000)
        : state(cfg, start_ms), now_ms(start_ms) {}

    apply_result run(const command& c) {
        return apply(meta{log_index(++index), 1, now_ms}, c, state);
    }

    // Publishes and returns the new message's ref.
    message_ref publish(uint32_t size = 10, uint8_t priority = 0,
                        std::optional<uint64_t> expiration_ms = std::nullopt) {
        last = run(enqueue{owner_id(900), 0, 0, size, priority, expiration_ms});
        return message_ref(index);
    }

    apply_result consume(uint64_t consumer, uint32_t prefetch = 0, int32_t priority = 0,
                         uint64_t owner = 1) {
        return run(checkout{consumer_id(consumer), owner_id(owner), prefetch, priority, false});
    }

    apply_result ack(uint64_t consumer, std::vector<message_ref> refs) {
        return run(settle{consumer_id(consumer), std::move(refs)});
    }
    apply_result requeue(uint64_t consumer, std::vector<message_ref> refs) {
        return run(return_messages{consumer_id(consumer), std::move(refs)});
    }
    apply_result reject(uint64_t consumer, std::vector<message_ref> refs) {
        return run(discard{consumer_id(consumer), std::move(refs)});
    }
    apply_result advance(uint64_t ms) {
        now_ms += ms;
        return run(tick{});
    }

    queue_state state;
    uint64_t now_ms;
    uint64_t index = 0;
    apply_result last;
};

}  // namespace qmq::queue::testing
