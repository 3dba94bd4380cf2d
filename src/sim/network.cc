#include "sim/network.h"

namespace qmq::sim {

void network::enqueue(raft::message m, uint64_t now) {
    uint64_t delay = _rng.between(_faults.delay_min, _faults.delay_max);
    if (_faults.long_delay_ppm != 0 && _rng.chance_ppm(_faults.long_delay_ppm)) {
        delay =
            _rng.between(_faults.delay_max, std::max(_faults.delay_max, _faults.long_delay_max));
    }
    _queue.push(flight{now + delay, _seq++, std::move(m)});
}

void network::send(raft::message m, uint64_t now) {
    if (_faults.drop_ppm != 0 && _rng.chance_ppm(_faults.drop_ppm)) {
        ++_dropped;
        return;
    }
    if (_faults.duplicate_ppm != 0 && _rng.chance_ppm(_faults.duplicate_ppm)) {
        enqueue(m, now);
    }
    enqueue(std::move(m), now);
}

std::vector<raft::message> network::take_due(uint64_t now) {
    std::vector<raft::message> out;
    while (!_queue.empty() && _queue.top().at <= now) {
        // priority_queue::top is const; the message is moved out via a copy
        // of the node, which is cheap next to the simulation's other work.
        flight f = _queue.top();
        _queue.pop();
        if (is_cut(f.m.from, f.m.to)) {
            ++_dropped;
            continue;
        }
        ++_delivered;
        out.push_back(std::move(f.m));
    }
    return out;
}

}  // namespace qmq::sim
