#include "broker/durable_confirms.h"

namespace qmq::broker {

void durable_confirms::wait(durable_engine& engine, uint64_t seq,
                            const std::vector<durable_wait>& waits) {
    _pending[seq] = entry{waits.size(), false};
    std::weak_ptr<durable_confirms> self = weak_from_this();
    for (const auto& w : waits) {
        engine.when_durable(w.group, w.index, [self, seq](bool ok) {
            if (auto s = self.lock()) {
                s->done(seq, ok);
            }
        });
    }
}

void durable_confirms::done(uint64_t seq, bool ok) {
    auto it = _pending.find(seq);
    if (it == _pending.end()) {
        return;
    }
    it->second.failed |= !ok;
    if (--it->second.remaining > 0) {
        return;
    }
    const bool failed = it->second.failed;
    _pending.erase(it);
    _send(seq, !failed);
}

}  // namespace qmq::broker
