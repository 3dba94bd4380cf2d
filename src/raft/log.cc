#include "raft/log.h"

#include <algorithm>

#include "common/assert.h"

namespace qmq::raft {

raft_log::raft_log(snapshot_meta snap, std::vector<log_entry> entries)
    : _snap(std::move(snap)),
      _committed(_snap.index),
      _applied(_snap.index),
      _durable(_snap.index),
      _persist_from(_snap.index.next()) {
    _configs.emplace_back(_snap.index, _snap.config);
    log_index expect = _snap.index.next();
    term_t prev_term = _snap.term;
    for (auto& e : entries) {
        QMQ_ASSERT(e.index == expect);
        QMQ_ASSERT(e.term >= prev_term);
        expect = expect.next();
        prev_term = e.term;
    }
    note_configs(entries);
    _entries.assign(std::make_move_iterator(entries.begin()),
                    std::make_move_iterator(entries.end()));
    _durable = last_index();
    _persist_from = last_index().next();
}

log_index raft_log::last_index() const {
    return log_index(_snap.index.value + _entries.size());
}

term_t raft_log::last_term() const {
    return _entries.empty() ? _snap.term : _entries.back().term;
}

std::size_t raft_log::offset(log_index i) const {
    QMQ_ASSERT(i > _snap.index && i <= last_index());
    return static_cast<std::size_t>(i.value - _snap.index.value - 1);
}

std::optional<term_t> raft_log::term_at(log_index i) const {
    if (i == _snap.index) {
        return _snap.term;
    }
    if (i < _snap.index || i > last_index()) {
        return std::nullopt;
    }
    return _entries[offset(i)].term;
}

const log_entry& raft_log::at(log_index i) const {
    return _entries[offset(i)];
}

bool raft_log::up_to_date(log_index last, term_t last_term_other) const {
    const term_t mine = last_term();
    return last_term_other > mine || (last_term_other == mine && last >= last_index());
}

void raft_log::append(log_entry e) {
    QMQ_ASSERT(e.index == last_index().next());
    QMQ_ASSERT(e.term >= last_term());
    if (e.kind == entry_kind::config) {
        auto c = decode_configuration(e.data);
        QMQ_ASSERT(c.ok());
        _configs.emplace_back(e.index, std::move(*c));
    }
    _entries.push_back(std::move(e));
}

void raft_log::append(std::vector<log_entry> entries) {
    for (auto& e : entries) {
        append(std::move(e));
    }
}

void raft_log::note_configs(const std::vector<log_entry>& entries) {
    for (const auto& e : entries) {
        if (e.kind == entry_kind::config) {
            auto c = decode_configuration(e.data);
            QMQ_ASSERT(c.ok());
            _configs.emplace_back(e.index, std::move(*c));
        }
    }
}

void raft_log::truncate_from(log_index i) {
    QMQ_ASSERT(i > _committed);  // a committed entry is never replaced
    QMQ_ASSERT(i > _snap.index && i <= last_index());
    _entries.resize(offset(i));
    while (_configs.back().first >= i) {
        _configs.pop_back();
    }
    _durable = std::min(_durable, i.prev());
    _persist_from = std::min(_persist_from, i);
}

std::optional<log_index> raft_log::maybe_append(log_index prev, term_t prev_term,
                                                std::vector<log_entry>& entries) {
    if (!matches(prev, prev_term)) {
        return std::nullopt;
    }
    const log_index last_new(prev.value + entries.size());
    std::size_t skip = 0;
    for (; skip < entries.size(); ++skip) {
        const auto& e = entries[skip];
        QMQ_ASSERT(e.index.value == prev.value + 1 + skip);
        if (e.index <= _snap.index) {
            continue;  // covered by our snapshot, hence committed and equal
        }
        auto t = term_at(e.index);
        if (!t) {
            break;  // beyond our end: append from here
        }
        if (*t != e.term) {
            truncate_from(e.index);
            break;
        }
    }
    for (; skip < entries.size(); ++skip) {
        append(std::move(entries[skip]));
    }
    return last_new;
}

std::pair<log_index, term_t> raft_log::find_conflict_by_term(log_index i, term_t t) const {
    i = std::min(i, last_index());
    while (true) {
        auto ti = term_at(i);
        if (!ti) {
            // Compacted: the snapshot point is the best hint we have.
            return {_snap.index, _snap.term};
        }
        if (*ti <= t || i == _snap.index) {
            return {i, *ti};
        }
        i = i.prev();
    }
}

std::vector<log_entry> raft_log::slice(log_index from, uint32_t count_max, uint64_t bytes_max,
                                       uint64_t& bytes_out) const {
    std::vector<log_entry> out;
    bytes_out = 0;
    if (from <= _snap.index || from > last_index()) {
        return out;
    }
    out.reserve(std::min<uint64_t>(count_max, last_index().value - from.value + 1));
    for (log_index i = from; i <= last_index() && out.size() < count_max; i = i.next()) {
        const auto& e = _entries[offset(i)];
        const uint64_t size = entry_size(e);
        if (!out.empty() && bytes_out + size > bytes_max) {
            break;
        }
        bytes_out += size;
        out.push_back(e);
    }
    return out;
}

void raft_log::commit_to(log_index i) {
    if (i <= _committed) {
        return;
    }
    QMQ_ASSERT(i <= last_index());
    _committed = i;
}

bool raft_log::on_durable(term_t t, log_index i) {
    if (i <= _durable || !matches(i, t)) {
        return false;
    }
    _durable = i;
    return true;
}

std::vector<log_entry> raft_log::take_unpersisted() {
    std::vector<log_entry> out;
    if (_persist_from <= _snap.index) {
        _persist_from = _snap.index.next();
    }
    if (_persist_from <= last_index()) {
        out.reserve(last_index().value - _persist_from.value + 1);
    }
    for (log_index i = _persist_from; i <= last_index(); i = i.next()) {
        out.push_back(_entries[offset(i)]);
    }
    _persist_from = last_index().next();
    return out;
}

std::vector<log_entry> raft_log::take_committed() {
    std::vector<log_entry> out;
    out.reserve(_committed.value - _applied.value);
    for (log_index i = _applied.next(); i <= _committed; i = i.next()) {
        out.push_back(_entries[offset(i)]);
    }
    _applied = _committed;
    return out;
}

void raft_log::compact(log_index i) {
    QMQ_ASSERT(i <= _applied);
    if (i <= _snap.index) {
        return;
    }
    const term_t t = *term_at(i);
    // The config in force at i becomes the snapshot's.
    std::size_t keep = 0;
    while (keep + 1 < _configs.size() && _configs[keep + 1].first <= i) {
        ++keep;
    }
    configuration cfg = _configs[keep].second;
    _configs.erase(_configs.begin(), _configs.begin() + static_cast<std::ptrdiff_t>(keep));
    _configs.front() = {i, cfg};
    _entries.erase(_entries.begin(), _entries.begin() + static_cast<std::ptrdiff_t>(offset(i) + 1));
    _snap = snapshot_meta{i, t, std::move(cfg)};
    _durable = std::max(_durable, i);
    _persist_from = std::max(_persist_from, i.next());
}

void raft_log::restore(const snapshot_meta& s) {
    QMQ_ASSERT(s.index > _committed);
    _snap = s;
    _entries.clear();
    _configs.clear();
    _configs.emplace_back(s.index, s.config);
    _committed = s.index;
    _applied = s.index;
    _durable = s.index;
    _persist_from = s.index.next();
}

}  // namespace qmq::raft
