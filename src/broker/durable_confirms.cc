#include "broker/durable_confirms.h"

#include <algorithm>

#include "common/assert.h"

namespace qmq::broker {

uint64_t confirm_coalescer::next() {
    _states.push_back(state::pending);
    return _low + _states.size() - 1;
}

void confirm_coalescer::decide(uint64_t seq, bool ack) {
    QMQ_ASSERT(seq >= _low && seq - _low < _states.size());
    state& s = at(seq);
    QMQ_ASSERT_MSG(s == state::pending, "publisher confirm decided twice");
    s = ack ? state::ack : state::nack;
    _decided.push_back(seq);
}

void confirm_coalescer::flush(std::vector<frame>& out) {
    if (_decided.empty()) {
        return;
    }
    // Runs of one outcome from the lowest unconfirmed number: one frame
    // each, multiple=true covering exactly the run (all below is confirmed).
    while (!_states.empty() && _states.front() != state::pending) {
        if (_states.front() == state::sent) {
            _states.pop_front();
            ++_low;
            --_sent;
            continue;
        }
        const state s = _states.front();
        std::size_t n = 1;
        while (n < _states.size() && _states[n] == s) {
            ++n;
        }
        out.push_back(frame{_low + n - 1, n > 1, s == state::ack});
        _states.erase(_states.begin(), _states.begin() + static_cast<std::ptrdiff_t>(n));
        _low += n;
    }
    // Above a pending number: alone, since multiple would cover it too.
    std::sort(_decided.begin(), _decided.end());
    for (uint64_t seq : _decided) {
        if (seq < _low) {
            continue;  // went out in a run
        }
        state& s = at(seq);
        QMQ_ASSERT(s == state::ack || s == state::nack);
        out.push_back(frame{seq, false, s == state::ack});
        s = state::sent;
        ++_sent;
    }
    _decided.clear();
}

void durable_confirms::wait(durable_engine& engine, uint64_t seq,
                            const std::vector<durable_wait>& waits) {
    _pending[seq] = entry{waits.size(), false};
    std::weak_ptr<durable_confirms> self = weak_from_this();
    durable_engine* e = &engine;
    for (const auto& w : waits) {
        engine.when_durable(w.group, w.index, [self, e, seq](bool ok) {
            if (auto s = self.lock()) {
                s->done(*e, seq, ok);
            }
        });
    }
}

void durable_confirms::done(durable_engine& engine, uint64_t seq, bool ok) {
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
    _decided(seq, !failed);
    // Everything one drain decides leaves in as few frames as possible. A
    // decision made inside publish (already durable) is sent at the end of
    // the read batch anyway; the flush then finds nothing new.
    if (!_flush_scheduled) {
        _flush_scheduled = true;
        std::weak_ptr<durable_confirms> self = weak_from_this();
        engine.at_drain_end([self] {
            if (auto s = self.lock()) {
                s->_flush_scheduled = false;
                s->_flush();
            }
        });
    }
}

}  // namespace qmq::broker
