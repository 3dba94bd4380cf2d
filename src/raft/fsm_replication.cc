// The leader's side of replication: pipelined appends under per-follower
// flow control, fast backtracking, snapshots, the commit rule and the
// membership changes that ride on commits.

#include <algorithm>

#include "raft/fsm.h"
#include "raft/joint.h"

namespace qmq::raft {

void fsm::append_as_leader(entry_kind kind, bytes data) {
    log_entry e;
    e.term = _term;
    e.index = _log.last_index().next();
    e.kind = kind;
    e.data = std::move(data);
    _log.append(std::move(e));
    if (kind == entry_kind::config) {
        sync_progress_with_config();
    }
    _broadcast_entries = true;
    // A group whose only voter is us may commit as soon as our disk catches
    // up (on_durable), never before.
    if (maybe_commit()) {
        after_commit();
    }
}

log_index fsm::own_durable_match() const {
    // The leader counts itself only up to its own durable index, so its disk
    // write runs in parallel with the followers' (the bug variant counts the
    // unsynced tail, which a crash can lose).
    return _opts.bugs.count_non_durable ? _log.last_index() : _log.durable();
}

void fsm::sync_progress_with_config() {
    const auto members = _log.config().members();
    for (auto it = _progress.begin(); it != _progress.end();) {
        if (it->first != _self && !std::binary_search(members.begin(), members.end(), it->first)) {
            it = _progress.erase(it);
        } else {
            ++it;
        }
    }
    auto add = [&](node_id id) {
        if (_progress.find(id) == _progress.end()) {
            _progress.emplace(id, progress(_log.last_index().next(), _opts.inflight_msgs_max,
                                           _opts.inflight_bytes_max));
        }
    };
    add(_self);
    for (auto id : members) {
        add(id);
    }
}

bool fsm::maybe_commit() {
    auto acked = [&](node_id id) -> uint64_t {
        if (id == _self) {
            return own_durable_match().value;
        }
        auto it = _progress.find(id);
        return it == _progress.end() ? 0 : it->second.match.value;
    };
    const uint64_t q = joint_committed(_log.config(), acked);
    if (q == ~uint64_t{0}) {
        return false;  // no voters at all: nothing can commit
    }
    const log_index idx(std::min(q, _log.last_index().value));
    if (idx <= _log.committed()) {
        return false;
    }
    // §3.6.2 (Figure 8): only an entry of the current term is committed by
    // counting replicas; earlier ones commit with it.
    if (!_opts.bugs.commit_earlier_term && _log.term_at(idx) != _term) {
        return false;
    }
    _log.commit_to(idx);
    return true;
}

void fsm::after_commit() {
    _broadcast_commit = true;
    if (committed_in_current_term() && !_reads_before_commit.empty()) {
        auto waiting = std::move(_reads_before_commit);
        _reads_before_commit.clear();
        for (const auto& r : waiting) {
            start_read(r.context, r.origin);
        }
    }
    const configuration& cfg = _log.config();
    if (_log.config_index() > _log.committed()) {
        return;
    }
    if (cfg.joint()) {
        // C_old,new is committed: now propose C_new (thesis §4.3).
        configuration next;
        next.voters = cfg.voters;
        next.learners = cfg.learners;
        append_as_leader(entry_kind::config, encode_configuration(next));
        return;
    }
    if (!cfg.is_voter(_self)) {
        // C_new is committed and does not include us: step down (§4.2.2).
        become_follower(_term, no_node);
    }
}

bool fsm::send_append(node_id to, bool send_if_empty) {
    auto it = _progress.find(to);
    if (it == _progress.end() || to == _self) {
        return false;
    }
    progress& pr = it->second;
    if (pr.paused()) {
        return false;
    }
    const log_index prev = pr.next.prev();
    const auto prev_term = _log.term_at(prev);
    if (!prev_term) {
        // The follower needs entries we compacted away: InstallSnapshot.
        pr.become_snapshot(_log.snap_index());
        send_snapshot_chunk(to);
        return true;
    }
    uint64_t size = 0;
    auto entries = _log.slice(pr.next, _opts.append_entries_max, _opts.append_bytes_max, size);
    if (entries.empty() && !send_if_empty) {
        return false;
    }
    message m;
    m.to = to;
    m.type = message_type::append;
    m.index = prev;
    m.log_term = *prev_term;
    m.commit = _log.committed();
    if (!entries.empty()) {
        pr.sent_entries(entries.back().index, size);
    } else if (pr.state == progress_state::probe) {
        pr.probe_sent = true;
    }
    m.entries = std::move(entries);
    send(std::move(m));
    return true;
}

void fsm::send_snapshot_chunk(node_id to) {
    progress& pr = _progress.at(to);
    QMQ_ASSERT(_snap_data != nullptr);
    if (pr.pending_snapshot != _log.snap_index()) {
        pr.become_snapshot(_log.snap_index());  // compacted again: send the newer one
    }
    const bytes& data = *_snap_data;
    const uint64_t offset = std::min<uint64_t>(pr.snapshot_offset, data.size());
    const uint64_t n = std::min<uint64_t>(_opts.snapshot_chunk_bytes, data.size() - offset);
    snapshot_chunk c;
    c.meta = _log.snap();
    c.offset = offset;
    c.total = data.size();
    c.data.assign(data.begin() + static_cast<std::ptrdiff_t>(offset),
                  data.begin() + static_cast<std::ptrdiff_t>(offset + n));
    c.last = offset + n == data.size();
    message m;
    m.to = to;
    m.type = message_type::snapshot;
    m.chunk = std::move(c);
    send(std::move(m));
}

void fsm::send_heartbeat(node_id to, uint64_t context) {
    const progress& pr = _progress.at(to);
    message m;
    m.to = to;
    m.type = message_type::heartbeat;
    // Only as far as the follower is known to match: its log beyond that
    // may still hold entries of an older leader.
    m.commit = std::min(pr.match, _log.committed());
    m.context = context;
    send(std::move(m));
}

void fsm::broadcast_append(bool send_if_empty) {
    for (auto& [id, pr] : _progress) {
        if (id == _self) {
            continue;
        }
        // Stream as much as flow control allows.
        bool first = true;
        while (send_append(id, first && send_if_empty)) {
            first = false;
        }
    }
}

void fsm::broadcast_heartbeat(uint64_t context) {
    for (auto& [id, pr] : _progress) {
        if (id != _self) {
            send_heartbeat(id, context);
        }
    }
}

void fsm::step_leader(message& m) {
    switch (m.type) {
        case message_type::append_resp:
            on_append_response(m);
            break;
        case message_type::heartbeat_resp:
            on_heartbeat_response(m);
            break;
        case message_type::snapshot_resp:
            on_snapshot_response(m);
            break;
        case message_type::read_index:
            if (!committed_in_current_term()) {
                if (_reads_before_commit.size() < _opts.pending_reads_max) {
                    _reads_before_commit.push_back({0, m.context, m.from, log_index{}});
                }
            } else {
                start_read(m.context, m.from);
            }
            break;
        default:
            break;  // appends in our own term cannot come from another leader
    }
}

void fsm::on_append_response(const message& m) {
    auto it = _progress.find(m.from);
    if (it == _progress.end()) {
        return;
    }
    progress& pr = it->second;
    pr.recent_active = true;
    if (m.reject) {
        // Fast backtracking: jump to where the follower's hint says the logs
        // may agree, instead of one index per round trip.
        log_index probe = m.hint_index;
        if (m.hint_term > term_t{}) {
            probe = _log.find_conflict_by_term(m.hint_index, m.hint_term).first;
        }
        if (pr.maybe_decr_to(m.index, probe)) {
            if (pr.state == progress_state::replicate) {
                pr.become_probe();
            }
            send_append(m.from, true);
        }
        return;
    }
    const bool was_paused = pr.paused();
    if (!pr.maybe_update(m.index)) {
        if (was_paused && !pr.paused()) {
            send_append(m.from, false);
        }
        return;
    }
    switch (pr.state) {
        case progress_state::probe:
            pr.become_replicate();
            break;
        case progress_state::snapshot:
            if (pr.match >= pr.pending_snapshot) {
                pr.become_probe();
            }
            break;
        case progress_state::replicate:
            pr.inflight.free_le(pr.match);
            break;
    }
    if (maybe_commit()) {
        after_commit();
        if (_role != role::leader) {
            return;
        }
    }
    while (send_append(m.from, false)) {
    }
    if (m.from == _transfer_target && pr.match == _log.last_index()) {
        message t;
        t.to = m.from;
        t.type = message_type::timeout_now;
        send(std::move(t));
    }
}

void fsm::on_heartbeat_response(const message& m) {
    auto it = _progress.find(m.from);
    if (it == _progress.end()) {
        return;
    }
    progress& pr = it->second;
    pr.recent_active = true;
    pr.probe_sent = false;
    if (pr.state == progress_state::replicate && pr.inflight.full()) {
        pr.inflight.free_first();
    }
    if (pr.match < _log.last_index()) {
        send_append(m.from, true);
    }
    if (m.context > pr.read_ack) {
        pr.read_ack = m.context;
        advance_reads();
    }
}

void fsm::on_snapshot_response(const message& m) {
    auto it = _progress.find(m.from);
    if (it == _progress.end()) {
        return;
    }
    progress& pr = it->second;
    pr.recent_active = true;
    if (pr.state != progress_state::snapshot) {
        return;
    }
    if (!m.reject) {
        // Installed (or the follower already had it): resume with entries.
        pr.maybe_update(m.index);
        pr.become_probe();
        send_append(m.from, true);
        return;
    }
    if (m.index != pr.pending_snapshot || m.context == pr.snapshot_offset) {
        return;  // about an older snapshot, or a duplicate answer
    }
    const bool progressed = m.context > pr.snapshot_offset;
    pr.snapshot_offset = m.context;
    if (progressed) {
        send_snapshot_chunk(m.from);
    }
    // A lower offset is a delayed answer or a follower that lost its partial
    // copy: the heartbeat retransmission serves it. Answering every stale
    // answer with a chunk would multiply duplicates (found by the simulator).
}

result<log_index> fsm::change_membership(std::vector<node_id> voters,
                                         std::vector<node_id> learners) {
    if (_role != role::leader) {
        return error{static_cast<int>(errc::not_leader), "raft: not the leader"};
    }
    if (_transfer_target != no_node) {
        return error{static_cast<int>(errc::transfer_in_progress),
                     "raft: leadership transfer in progress"};
    }
    const configuration& cur = _log.config();
    // One change at a time: the last one must be committed and not joint.
    if (cur.joint() || _log.config_index() > _log.committed()) {
        return error{static_cast<int>(errc::change_in_progress),
                     "raft: a membership change is in progress"};
    }
    voters = normalized(std::move(voters));
    learners = normalized(std::move(learners));
    if (voters.empty() || voters.size() > voters_max) {
        return error{static_cast<int>(errc::bad_configuration), "raft: bad voter count"};
    }
    for (auto id : learners) {
        if (id == no_node || std::binary_search(voters.begin(), voters.end(), id) ||
            std::binary_search(cur.voters.begin(), cur.voters.end(), id)) {
            return error{static_cast<int>(errc::bad_configuration),
                         "raft: a learner cannot be a voter, old or new"};
        }
    }
    if (voters.front() == no_node) {
        return error{static_cast<int>(errc::bad_configuration), "raft: node id 0"};
    }
    configuration next;
    next.voters = voters;
    next.learners = learners;
    if (voters != cur.voters) {
        next.voters_outgoing = cur.voters;  // enter C_old,new
    }
    append_as_leader(entry_kind::config, encode_configuration(next));
    return _log.last_index();
}

}  // namespace qmq::raft
