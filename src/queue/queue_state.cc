// queue_state's constructor and queries (the state itself is in machine.h).
#include <vector>

#include "common/assert.h"
#include "queue/machine.h"

namespace qmq::queue {

queue_state::queue_state(const queue_config& config, uint64_t created_ms)
    : _cfg(config), _now_ms(created_ms), _last_used_ms(created_ms) {
    QMQ_ASSERT(config.max_priority <= priority_max);
    QMQ_ASSERT(config.release_cursor_interval > 0);
    QMQ_ASSERT(!config.expires_ms || *config.expires_ms > 0);
    _levels.resize(static_cast<size_t>(config.max_priority) + 1);
}

std::vector<message_ref> queue_state::checked_out(consumer_id c) const {
    std::vector<message_ref> refs;
    auto it = _consumers.find(c);
    if (it == _consumers.end()) {
        return refs;
    }
    refs.reserve(it->second.checked_out.size());
    for (const auto& [ref, msg] : it->second.checked_out) {
        refs.push_back(ref);
    }
    return refs;
}

// One command's worth of work on a state: apply() builds one of these per

}  // namespace qmq::queue
