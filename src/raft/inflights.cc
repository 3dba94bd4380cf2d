#include "raft/inflights.h"

#include "common/assert.h"

namespace qmq::raft {

void inflights::add(log_index last, uint64_t size) {
    QMQ_ASSERT(!full());
    QMQ_ASSERT(_items.empty() || _items.back().last < last);
    _items.push_back({last, size});
    _bytes += size;
}

void inflights::free_le(log_index to) {
    while (!_items.empty() && _items.front().last <= to) {
        _bytes -= _items.front().size;
        _items.pop_front();
    }
}

void inflights::free_first() {
    if (!_items.empty()) {
        _bytes -= _items.front().size;
        _items.pop_front();
    }
}

void inflights::reset() {
    _items.clear();
    _bytes = 0;
}

}  // namespace qmq::raft
