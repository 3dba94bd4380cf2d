// A follower's side: appends (acknowledged only once durable), heartbeats,
// InstallSnapshot chunks, leadership transfer and ReadIndex answers.

#include <algorithm>

#include "raft/fsm.h"

namespace qmq::raft {

void fsm::step_follower(message& m) {
    switch (m.type) {
        case message_type::append:
            _election_elapsed = 0;
            _leader = m.from;
            on_append(m);
            break;
        case message_type::heartbeat:
            _election_elapsed = 0;
            _leader = m.from;
            on_heartbeat(m);
            break;
        case message_type::snapshot:
            _election_elapsed = 0;
            _leader = m.from;
            on_snapshot_chunk(m);
            break;
        case message_type::timeout_now:
            // Leadership transfer: campaign at once, skipping pre-vote, and
            // tell voters to ignore their leader lease.
            if (promotable()) {
                campaign_impl(false, true);
            }
            break;
        case message_type::read_index_resp:
            _reads_out.push_back({m.context, m.index});
            break;
        default:
            break;
    }
}

void fsm::send_append_ack() {
    // Acknowledge only what is durable AND known to match this leader: an
    // ack counts towards commit, so it must survive our crash (§5.3 assumes
    // stable storage). The bug variant acks on receipt.
    const log_index durable = _opts.bugs.count_non_durable ? _log.last_index() : _log.durable();
    const log_index match = std::min(durable, _leader_matched);
    _ack_pending = match < _leader_matched;
    if (_leader == no_node || match == log_index{}) {
        return;
    }
    message r;
    r.to = _leader;
    r.type = message_type::append_resp;
    r.index = match;
    send(std::move(r));
}

void fsm::on_append(message& m) {
    if (m.index < _log.committed()) {
        // A stale append: our log matches the leader's up to our commit
        // index. Ack what of it is durable here (an ack must never be undone
        // by our crash, or the leader's match would run ahead of our log).
        message r;
        r.to = m.from;
        r.type = message_type::append_resp;
        r.index = std::min(_log.committed(), _log.durable());
        send(std::move(r));
        return;
    }
    auto last_new = _log.maybe_append(m.index, m.log_term, m.entries);
    if (last_new) {
        _leader_matched = std::max(_leader_matched, *last_new);
        _log.commit_to(std::min(m.commit, *last_new));
        if (_opts.bugs.count_non_durable || _log.durable() >= _leader_matched) {
            send_append_ack();
        } else {
            _ack_pending = true;  // on_durable sends it
        }
        return;
    }
    // Reject with a hint: the largest index <= m.index whose term is <= the
    // leader's term there. The leader jumps over whole terms at once.
    const auto [hint_index, hint_term] =
        _log.find_conflict_by_term(std::min(m.index, _log.last_index()), m.log_term);
    message r;
    r.to = m.from;
    r.type = message_type::append_resp;
    r.index = m.index;
    r.reject = true;
    r.hint_index = hint_index;
    r.hint_term = hint_term;
    send(std::move(r));
}

void fsm::on_heartbeat(const message& m) {
    _log.commit_to(std::min(m.commit, _log.last_index()));
    message r;
    r.to = m.from;
    r.type = message_type::heartbeat_resp;
    r.context = m.context;
    send(std::move(r));
}

void fsm::on_snapshot_chunk(message& m) {
    QMQ_ASSERT(m.chunk.has_value());
    snapshot_chunk& c = *m.chunk;
    auto answer = [&](bool installed, log_index index, uint64_t want_offset) {
        message r;
        r.to = m.from;
        r.type = message_type::snapshot_resp;
        r.reject = !installed;
        r.index = index;
        r.context = want_offset;
        send(std::move(r));
    };
    if (c.meta.index <= _log.committed()) {
        // We already have all of it: the leader may resume after what of
        // our committed prefix is durable.
        _incoming_meta.reset();
        _incoming_data.clear();
        answer(true, std::min(_log.committed(), _log.durable()), 0);
        return;
    }
    if (!_incoming_meta || *_incoming_meta != c.meta) {
        if (c.offset != 0) {
            answer(false, c.meta.index, 0);
            return;
        }
        _incoming_meta = c.meta;
        _incoming_data.clear();
    }
    if (c.offset != _incoming_data.size() || c.total < c.offset + c.data.size()) {
        answer(false, c.meta.index, _incoming_data.size());
        return;
    }
    _incoming_data.insert(_incoming_data.end(), c.data.begin(), c.data.end());
    if (!c.last) {
        answer(false, c.meta.index, _incoming_data.size());
        return;
    }
    QMQ_ASSERT(_incoming_data.size() == c.total);
    snapshot_meta meta = std::move(*_incoming_meta);
    auto data = std::make_shared<const bytes>(std::move(_incoming_data));
    _incoming_meta.reset();
    _incoming_data = bytes{};
    if (_log.matches(meta.index, meta.term)) {
        // Our log already holds the snapshot's point: just commit up to it.
        _log.commit_to(meta.index);
        _leader_matched = std::max(_leader_matched, meta.index);
        answer(true, std::min(meta.index, _log.durable()), 0);
        return;
    }
    _log.restore(meta);
    _snap_data = data;
    _snap_out = snapshot{meta, data};
    _leader_matched = meta.index;
    _ack_pending = false;
    answer(true, meta.index, 0);
}

}  // namespace qmq::raft
