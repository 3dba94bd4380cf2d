#include "raft/fsm.h"

namespace qmq::raft {

const char* to_string(role r) {
    switch (r) {
        case role::follower:
            return "follower";
        case role::pre_candidate:
            return "pre-candidate";
        case role::candidate:
            return "candidate";
        case role::leader:
            return "leader";
    }
    return "?";
}

const char* to_string(message_type t) {
    switch (t) {
        case message_type::pre_vote:
            return "pre_vote";
        case message_type::pre_vote_resp:
            return "pre_vote_resp";
        case message_type::vote:
            return "vote";
        case message_type::vote_resp:
            return "vote_resp";
        case message_type::append:
            return "append";
        case message_type::append_resp:
            return "append_resp";
        case message_type::heartbeat:
            return "heartbeat";
        case message_type::heartbeat_resp:
            return "heartbeat_resp";
        case message_type::snapshot:
            return "snapshot";
        case message_type::snapshot_resp:
            return "snapshot_resp";
        case message_type::timeout_now:
            return "timeout_now";
        case message_type::read_index:
            return "read_index";
        case message_type::read_index_resp:
            return "read_index_resp";
    }
    return "?";
}

fsm::fsm(group_id group, node_id self, const options& opts, durable_state state, uint64_t seed)
    : _group(group),
      _self(self),
      _opts(opts),
      _rng(seed),
      _term(state.hard.term),
      _vote(state.hard.vote),
      _log(std::move(state.snap), std::move(state.entries)),
      _snap_data(std::move(state.snap_data)),
      _handed_hard_state(state.hard) {
    QMQ_ASSERT(self != no_node);
    QMQ_ASSERT(opts.election_ticks > opts.heartbeat_ticks && opts.heartbeat_ticks > 0);
    QMQ_ASSERT(_log.snap_index() == log_index{} || _snap_data != nullptr);
    QMQ_ASSERT(_log.last_term() <= _term || _term == term_t{});
    reset_election_timeout();
}

const progress* fsm::progress_of(node_id id) const {
    auto it = _progress.find(id);
    return it == _progress.end() ? nullptr : &it->second;
}

void fsm::send(message m) {
    m.group = _group;
    m.from = _self;
    if (m.term == term_t{}) {
        m.term = _term;
    }
    _msgs.push_back(std::move(m));
}

void fsm::reset_election_timeout() {
    _randomized_timeout =
        _opts.election_ticks + static_cast<uint32_t>(_rng.below(_opts.election_ticks));
}

void fsm::reset(term_t t) {
    if (_term != t) {
        _term = t;
        _vote = no_node;
    }
    _leader = no_node;
    _election_elapsed = 0;
    _heartbeat_elapsed = 0;
    reset_election_timeout();
    _votes.clear();
    _progress.clear();
    _transfer_target = no_node;
    _broadcast_entries = false;
    _broadcast_commit = false;
    _read_heartbeat_due = false;
    _pending_reads.clear();
    _reads_before_commit.clear();
    _leader_matched = log_index{};
    _ack_pending = false;
}

void fsm::become_follower(term_t t, node_id leader) {
    reset(t);
    _role = role::follower;
    _leader = leader;
}

// The term rules shared by every role (§5.1, plus pre-vote and check-quorum,
// thesis §9.6). Sets drop when the message must not be processed further.
void fsm::step_by_term(message& m, bool& drop) {
    drop = false;
    if (m.term > _term) {
        const bool is_vote = m.type == message_type::vote || m.type == message_type::pre_vote;
        if (is_vote) {
            // Check-quorum lease: while we hear from a leader, a candidate
            // that is merely partitioned from it must not disrupt it.
            const bool forced = m.context == context_transfer;
            const bool in_lease = _opts.check_quorum && _leader != no_node &&
                                  _election_elapsed < _opts.election_ticks;
            if (!forced && in_lease) {
                drop = true;
                return;
            }
        }
        if (m.type == message_type::pre_vote) {
            return;  // a pre-vote never changes our term
        }
        if (m.type == message_type::pre_vote_resp && !m.reject) {
            return;  // a granted pre-vote carries the term we will campaign in
        }
        const bool from_leader = m.type == message_type::append ||
                                 m.type == message_type::heartbeat ||
                                 m.type == message_type::snapshot;
        // Only a leader's message or a granted vote restarts the election
        // timer (Figure 2); a vote request we may reject must not, or a
        // removed or stale node bumping terms would keep anyone else from
        // ever campaigning.
        const uint32_t elapsed = _election_elapsed;
        become_follower(m.term, from_leader ? m.from : no_node);
        if (is_vote) {
            _election_elapsed = elapsed;
        }
        return;
    }
    if (m.term < _term) {
        if ((_opts.check_quorum || _opts.pre_vote) &&
            (m.type == message_type::append || m.type == message_type::heartbeat)) {
            // A stale leader (e.g. back from a partition) learns our term and
            // steps down; without this a pre-voting cluster could starve it.
            message r;
            r.to = m.from;
            r.type = message_type::append_resp;
            send(std::move(r));
        } else if (m.type == message_type::pre_vote) {
            message r;
            r.to = m.from;
            r.type = message_type::pre_vote_resp;
            r.reject = true;
            send(std::move(r));
        }
        drop = true;
    }
}

void fsm::step(message m) {
    if (m.group != _group) {
        return;
    }
    bool drop = false;
    step_by_term(m, drop);
    if (drop) {
        return;
    }
    if (m.type == message_type::vote || m.type == message_type::pre_vote) {
        on_vote_request(m);
        return;
    }
    switch (_role) {
        case role::leader:
            step_leader(m);
            break;
        case role::candidate:
        case role::pre_candidate:
            if (m.type == message_type::append || m.type == message_type::heartbeat ||
                m.type == message_type::snapshot) {
                // A leader exists in our term: §5.2, return to follower.
                become_follower(_term, m.from);
                step_follower(m);
            } else if (m.type == message_type::vote_resp || m.type == message_type::pre_vote_resp) {
                on_vote_response(m);
            }
            break;
        case role::follower:
            step_follower(m);
            break;
    }
}

void fsm::tick() {
    if (_role == role::leader) {
        tick_leader();
    } else {
        tick_election();
    }
}

void fsm::on_durable(term_t t, log_index i) {
    if (!_log.on_durable(t, i)) {
        return;
    }
    if (_role == role::leader) {
        if (maybe_commit()) {
            after_commit();
        }
    } else if (_ack_pending) {
        send_append_ack();
    }
}

bool fsm::has_output() const {
    return _handed_hard_state != hard_state{_term, _vote} || _snap_out || !_msgs.empty() ||
           _log.has_unpersisted() || _log.has_committed() || !_reads_out.empty() ||
           _broadcast_entries || _broadcast_commit || _read_heartbeat_due;
}

output fsm::take_output() {
    if (_role == role::leader) {
        if (_broadcast_entries || _broadcast_commit) {
            broadcast_append(_broadcast_commit);
        }
        if (_read_heartbeat_due) {
            broadcast_heartbeat(_read_seq);
        }
    }
    _broadcast_entries = false;
    _broadcast_commit = false;
    _read_heartbeat_due = false;

    output out;
    const hard_state hs{_term, _vote};
    if (hs != _handed_hard_state) {
        out.persist_hard_state = hs;
        _handed_hard_state = hs;
    }
    out.persist_snapshot = std::move(_snap_out);
    _snap_out.reset();
    out.persist_entries = _log.take_unpersisted();
    out.send = std::move(_msgs);
    _msgs.clear();
    out.apply = _log.take_committed();
    out.reads = std::move(_reads_out);
    _reads_out.clear();
    out.leader = _leader;
    out.current_role = _role;
    return out;
}

result<log_index> fsm::propose(bytes data) {
    if (_role != role::leader) {
        return error{static_cast<int>(errc::not_leader), "raft: not the leader"};
    }
    if (_transfer_target != no_node) {
        return error{static_cast<int>(errc::transfer_in_progress),
                     "raft: leadership transfer in progress"};
    }
    append_as_leader(entry_kind::command, std::move(data));
    return _log.last_index();
}

void fsm::compact(log_index upto, std::shared_ptr<const bytes> data) {
    QMQ_ASSERT(data != nullptr);
    QMQ_ASSERT(upto <= _log.applied());
    // The stored log must hold the entry at `upto` (so it can tell whether
    // its suffix follows the snapshot); otherwise a crash could leave stale
    // entries after it.
    QMQ_ASSERT(upto <= _log.durable());
    if (upto <= _log.snap_index()) {
        return;
    }
    _log.compact(upto);
    _snap_data = std::move(data);
}

void fsm::campaign() {
    if (_role != role::leader && promotable()) {
        campaign_impl(_opts.pre_vote, false);
    }
}

}  // namespace qmq::raft
