#include "sim/disk.h"

#include <algorithm>

namespace qmq::sim {

void disk::save_local_snapshot(const raft::snapshot& s) {
    if (s.meta.index <= _snap.index) {
        return;
    }
    const uint64_t first = _snap.index.value + 1;
    const uint64_t idx = s.meta.index.value;
    if (idx >= first && idx < first + _entries.size() &&
        _entries[idx - first].term == s.meta.term) {
        _entries.erase(_entries.begin(),
                       _entries.begin() + static_cast<std::ptrdiff_t>(idx - first + 1));
    } else {
        _entries.clear();
    }
    _snap = s.meta;
    _snap_data = s.data;
}

void disk::save_received_snapshot(const raft::snapshot& s) {
    _pending.clear();
    _entries.clear();
    _snap = s.meta;
    _snap_data = s.data;
}

void disk::start_append(std::vector<raft::log_entry> entries, uint64_t ready_at) {
    if (entries.empty()) {
        return;
    }
    if (!_pending.empty()) {
        ready_at = std::max(ready_at, _pending.back().ready_at);
    }
    _pending.push_back(write{ready_at, std::move(entries)});
}

void disk::apply(write& w) {
    const uint64_t first = _snap.index.value + 1;
    const uint64_t from = w.entries.front().index.value;
    // Keep stored entries before the write's first index.
    if (from >= first) {
        QMQ_ASSERT(from <= first + _entries.size());  // writes never leave a gap
        _entries.resize(from - first);
    } else {
        _entries.clear();
    }
    for (auto& e : w.entries) {
        if (e.index.value >= first) {
            QMQ_ASSERT(e.index.value == first + _entries.size());
            _entries.push_back(std::move(e));
        }
    }
}

std::optional<std::pair<raft::term_t, raft::log_index>> disk::complete_due(uint64_t now) {
    bool any = false;
    while (!_pending.empty() && _pending.front().ready_at <= now) {
        apply(_pending.front());
        _pending.pop_front();
        any = true;
    }
    if (!any || _entries.empty()) {
        return std::nullopt;
    }
    return std::make_pair(_entries.back().term, _entries.back().index);
}

raft::durable_state disk::load(bool forget_vote) const {
    raft::durable_state s;
    s.hard = _hard;
    if (forget_vote) {
        s.hard.vote = raft::no_node;
    }
    s.snap = _snap;
    s.snap_data = _snap_data;
    s.entries = _entries;
    return s;
}

}  // namespace qmq::sim
