#include "sim/checker.h"

#include <sstream>

namespace qmq::sim {

void checker::fail(std::string invariant, std::string detail) {
    if (!_violation) {
        _violation = violation{std::move(invariant), std::move(detail)};
    }
}

uint64_t checker::fingerprint(const raft::log_entry& e) {
    uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(e.kind);
    for (auto b : e.data) {
        h = (h ^ std::to_integer<uint64_t>(b)) * 1099511628211ull;
    }
    return h;
}

void checker::on_leader(raft::node_id n, raft::term_t t, const raft::raft_log& log) {
    auto [it, inserted] = _leaders.emplace(t, n);
    if (!inserted && it->second != n) {
        std::ostringstream os;
        os << "term " << t << " has leaders n" << it->second << " and n" << n;
        fail("election safety", os.str());
        return;
    }
    if (!inserted) {
        return;
    }
    // Every entry applied anywhere so far is committed; the new leader must
    // hold each one it has not compacted (compacted ones are committed in
    // its snapshot, which log matching and state machine safety cover).
    for (const auto& [idx, applied] : _applied) {
        if (idx <= log.snap_index()) {
            continue;
        }
        auto term = log.term_at(idx);
        if (term != applied.first) {
            std::ostringstream os;
            os << "n" << n << " leads term " << t << " without committed entry " << idx << " (term "
               << applied.first << ")";
            fail("leader completeness", os.str());
            return;
        }
    }
}

void checker::on_persist(raft::node_id n, const raft::log_entry& e,
                         std::optional<raft::term_t> prev_term) {
    const uint64_t fp = fingerprint(e);
    auto [it, inserted] =
        _entries.emplace(std::make_pair(e.index, e.term), seen_entry{fp, prev_term});
    if (inserted) {
        return;
    }
    if (it->second.fp != fp) {
        std::ostringstream os;
        os << "n" << n << " stores a different entry at index " << e.index << " term " << e.term;
        fail("log matching", os.str());
        return;
    }
    if (!it->second.prev_term) {
        it->second.prev_term = prev_term;
    } else if (prev_term && *prev_term != *it->second.prev_term) {
        std::ostringstream os;
        os << "n" << n << " has entry " << e.index << "/" << e.term << " after term " << *prev_term
           << ", another node after term " << *it->second.prev_term;
        fail("log matching", os.str());
    }
}

void checker::on_apply(raft::node_id n, const raft::log_entry& e) {
    const uint64_t fp = fingerprint(e);
    auto [it, inserted] = _applied.emplace(e.index, std::make_pair(e.term, fp));
    if (!inserted && (it->second.first != e.term || it->second.second != fp)) {
        std::ostringstream os;
        os << "n" << n << " applies entry of term " << e.term << " at index " << e.index
           << ", another node applied term " << it->second.first;
        fail("state machine safety", os.str());
    }
}

void checker::on_command(raft::node_id n, std::size_t k, uint64_t cmd) {
    if (k == _history.size()) {
        _history.push_back(cmd);
        return;
    }
    if (k > _history.size()) {
        std::ostringstream os;
        os << "n" << n << " applies command " << cmd << " as #" << k << ", history has only "
           << _history.size();
        fail("state machine safety", os.str());
        return;
    }
    if (_history[k] != cmd) {
        std::ostringstream os;
        os << "n" << n << " applies command " << cmd << " as #" << k << ", history has "
           << _history[k];
        fail("state machine safety", os.str());
    }
}

}  // namespace qmq::sim
